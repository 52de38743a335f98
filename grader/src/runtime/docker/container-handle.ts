import type Dockerode from 'dockerode';
import type { StartedTestContainer } from 'testcontainers';
import { demultiplexLogs } from '../log-tail.ts';
import { signalOfExitCode, type ExitStatus } from '../runtime.ts';

/** testcontainers keeps the dockerode handle; inspect, logs, kill and pause need it directly. */
export function dockerodeOf(container: StartedTestContainer): Dockerode.Container {
  return (container as unknown as { container: Dockerode.Container }).container;
}

/** The last lines a container printed (stdout and stderr); empty if it is gone. */
export async function tailLogs(handle: Dockerode.Container, maxLines: number): Promise<string> {
  try {
    const raw = await handle.logs({ stdout: true, stderr: true, tail: maxLines, follow: false });
    return demultiplexLogs(raw).lines(maxLines);
  } catch {
    return '';
  }
}

/** How a container's process ended; undefined while it runs. */
export async function exitStatusOf(handle: Dockerode.Container): Promise<ExitStatus | undefined> {
  const info = await handle.inspect();
  if (info.State.Running) return undefined;
  return { exitCode: info.State.ExitCode, signal: signalOfExitCode(info.State.ExitCode), oomKilled: info.State.OOMKilled };
}

// The reaper process (see reaper.ts): started detached by a grader with its run id, it waits for
// the end of its standard input and then removes what the run left, unless the grader said it
// had cleaned up itself.
import { createInterface } from 'node:readline';
import { rm } from 'node:fs/promises';
import { DockerEngine } from '../runtime/docker/engine.ts';
import { unguardHost, type HostGuardInfo } from '../runtime/docker/host-guard.ts';
import { logger } from '../log.ts';
import type { ReaperMessage } from './reaper.ts';

const log = logger('reaper');
const runId = process.argv[2]!;
// Detached already; a signal meant for the terminal's foreground job must not stop the cleanup.
for (const signal of ['SIGINT', 'SIGHUP', 'SIGTERM'] as const) process.on(signal, () => {});

const engine = DockerEngine.connect(15_000);
engine.catch(() => {});
let guard: HostGuardInfo | undefined;
let workDir: string | undefined;
let disposed = false;

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  try {
    const message = JSON.parse(line) as ReaperMessage;
    if ('workDir' in message) workDir = message.workDir;
    if ('guard' in message) guard = message.guard;
    if ('disposed' in message) disposed = true;
  } catch {
    // Only the grader writes here.
  }
});
lines.on('close', () => void reap());

async function reap(): Promise<void> {
  if (disposed) process.exit(0);
  log(`The grader of run ${runId} is gone: removing what it left`);
  try {
    const docker = await engine;
    await docker.removeRun(runId);
    // Only once its containers are gone does the host open to the run's bridge again.
    if (guard) await unguardHost(docker, guard);
    // The rule's own helper container is labelled with the run too.
    await docker.removeRun(runId);
  } catch (error) {
    log(`Could not remove run ${runId}: ${(error as Error).message}`);
  }
  if (workDir) await rm(workDir, { recursive: true, force: true }).catch(() => {});
  log(`Removed run ${runId}`);
  process.exit(0);
}

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { InfrastructureError } from '../../errors.ts';
import { logger } from '../../log.ts';
import { CONTROL_SECRET_ENV, controlHeaders, newControlSecret } from '../control-secret.ts';
import type { ZooServerConfig } from './zoo-config.ts';
import type { ZooMemberKind } from './zoo-members.ts';
import type { ZooStats } from './zoo-stats.ts';

const log = logger('tls-zoo');

/** The script a zoo container runs, too. */
export const zooServerScript = fileURLToPath(new URL('./zoo-server.cjs', import.meta.url));

const READY_TIMEOUT_MS = 10_000;

/** A zoo running as a child process on this machine (for the grader's own tests and the local runtime). */
export interface StartedLocalZoo extends AsyncDisposable {
  readonly host: string;
  /** Answers stats() and reset() only: without the secret this zoo was given, every request gets 404. */
  readonly controlPort: number;
  port(kind: ZooMemberKind): number;
  stats(): Promise<ZooStats>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts zoo-server.cjs with `config` and waits for its ready line, which names the ports it got. */
export async function startLocalZoo(config: ZooServerConfig): Promise<StartedLocalZoo> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-zoo-'));
  const configPath = path.join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(config), { mode: 0o600 });
  log(`Starting the TLS zoo (${config.members.length} members) on ${config.host}...`);
  // In the environment, not the config or the command line: what `ps` shows is everyone's.
  const secret = newControlSecret();
  const child: ChildProcess = spawn(process.execPath, [zooServerScript, configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, [CONTROL_SECRET_ENV]: secret },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  let ready: { controlPort: number; ports: Record<string, number> };
  try {
    ready = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new InfrastructureError(`TLS zoo not ready after ${READY_TIMEOUT_MS} ms: ${stderr.trim()}`)), READY_TIMEOUT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new InfrastructureError(`TLS zoo exited with ${code} before it was ready: ${stderr.trim()}`));
      });
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { controlPort: number; ports: Record<string, number> });
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  log(`Started the TLS zoo: control port ${ready.controlPort}`);

  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const control = async (method: string, route: string) => {
    const response = await fetch(`http://${host}:${ready.controlPort}${route}`, { method, headers: controlHeaders(secret) });
    if (!response.ok) throw new InfrastructureError(`TLS zoo control ${method} ${route}: HTTP ${response.status}`);
    return response.json();
  };
  return {
    host,
    controlPort: ready.controlPort,
    port(kind) {
      const port = ready.ports[kind];
      if (port === undefined) throw new Error(`the zoo has no member ${kind}`);
      return port;
    },
    stats: () => control('GET', '/stats') as Promise<ZooStats>,
    reset: async () => {
      await control('POST', '/reset');
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { once } from 'node:events';
import { logger } from '../log.ts';
import { LogTail } from './log-tail.ts';
import { RelayLink, type Relay } from '../impairment/relay/relay-link.ts';
import { TcpRelay } from '../impairment/relay/tcp-relay.ts';
import { UdpRelay } from '../impairment/relay/udp-relay.ts';
import type { RunContext } from './context.ts';
import type { Endpoint, ExitStatus, ProcessStats, StartedSubmission, StartOptions, SubmissionRuntime } from './runtime.ts';
import { awaitListening } from './wait-for-port.ts';

const log = logger('local');

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

/**
 * Runs the submission as a child process on 127.0.0.1. Fast, no isolation, no packet-level
 * impairment: for visible tests and for machines without a container engine.
 */
export class LocalRuntime implements SubmissionRuntime {
  readonly kind = 'local';

  constructor(
    private readonly command: readonly string[],
    private readonly cwd: string,
    private readonly impairment: RunContext['impairment'],
    private readonly transport: RunContext['exercise']['transport'],
  ) {}

  async start(options: StartOptions): Promise<StartedSubmission> {
    const port = await freePort();
    const [file, ...args] = this.command;
    log(`Starting ${this.command.join(' ')} with PORT=${port}...`);
    const child = spawn(file!, args, {
      cwd: this.cwd,
      env: { ...process.env, ...options.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so stop() also ends anything the submission spawned.
      detached: true,
    });
    const started = new StartedLocalSubmission(child, port);
    await awaitListening(started, port, options.limits.startupTimeoutMs);
    // Tests reach the submission through the relay, the local stand-in for an impaired link.
    const relay = await (this.transport === 'udp' ? UdpRelay : TcpRelay).start(started.endpoint, this.impairment.link, this.impairment.seed);
    started.useRelay(relay);
    log(`Started pid ${child.pid} on 127.0.0.1:${port}, relayed at ${relay.endpoint.port} under ${relay.link.name}`);
    return started;
  }
}

class StartedLocalSubmission implements StartedSubmission {
  endpoint: Endpoint;
  private relayLink: RelayLink | undefined;
  private readonly tail = new LogTail();
  private exit: ExitStatus | undefined;
  private readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    port: number,
  ) {
    this.endpoint = { host: '127.0.0.1', port };
    child.stdout!.on('data', (chunk: Buffer) => this.tail.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => this.tail.push(chunk));
    this.exited = new Promise((resolve) => {
      child.once('exit', (exitCode, signal) => {
        this.exit = { exitCode, signal, oomKilled: false };
        resolve();
      });
      child.once('error', (error) => {
        this.tail.push(Buffer.from(`failed to start: ${error.message}\n`));
        this.exit = { exitCode: null, signal: null, oomKilled: false };
        resolve();
      });
    });
  }

  useRelay(relay: Relay): void {
    this.relayLink = new RelayLink(relay);
    this.endpoint = relay.endpoint;
  }

  get link(): RelayLink {
    if (!this.relayLink) throw new Error('the link exists once the submission listens');
    return this.relayLink;
  }

  async logs(maxLines?: number): Promise<string> {
    return this.tail.lines(maxLines);
  }

  async exitStatus(): Promise<ExitStatus | undefined> {
    return this.exit;
  }

  /** From /proc: the submission's own process (not anything it spawned). */
  async processStats(): Promise<ProcessStats | undefined> {
    if (this.exit) return undefined;
    const status = await readFile(`/proc/${this.child.pid}/status`, 'utf8').catch(() => undefined);
    if (status === undefined) return undefined;
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { threads: field('Threads'), memoryBytes: field('VmRSS') * 1024, peakMemoryBytes: field('VmHWM') * 1024 };
  }

  async stop(): Promise<void> {
    await this.relayLink?.close();
    if (this.exit) return;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-this.child.pid!, signal);
      } catch {
        // already gone
      }
    };
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 2_000);
    await this.exited;
    clearTimeout(timer);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

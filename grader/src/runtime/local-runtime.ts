import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, lchown, lstat, mkdir, mkdtemp, readFile, rm, rmdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import os from 'node:os';
import path from 'node:path';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { logger } from '../log.ts';
import { LogTail } from './log-tail.ts';
import { RelayLink, type Relay } from '../impairment/relay/relay-link.ts';
import { TcpRelay } from '../impairment/relay/tcp-relay.ts';
import { UdpRelay } from '../impairment/relay/udp-relay.ts';
import type { LocalUser, RunContext } from './context.ts';
import { killProcessesOf } from './local-user.ts';
import { MAX_RUN_OUTPUT_BYTES, type RunOptions, type RunResult } from './runtime.ts';
import type { Endpoint, ExitStatus, ProcessStats, StartedSubmission, StartOptions, SubmissionRuntime } from './runtime.ts';
import { awaitListening, tcpProbe, udpProbe } from './wait-for-port.ts';
import { assertPlainRelative, FILES_MTIME_MS, filesDirOf, isRepeatedFile, isSymbolicLink, repeatedChunks, type FileTree } from './files.ts';

const log = logger('local');

async function freePort(transport: RunContext['exercise']['transport']): Promise<number> {
  if (transport === 'udp') {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const { port } = socket.address();
    socket.close();
    return port;
  }
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

/** StartOptions.files in a fresh temporary folder, each file read-only (no sandbox enforces more here). */
async function writeReadOnlyFiles(files: FileTree): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'netkata-files-'));
  const mtime = new Date(FILES_MTIME_MS);
  for (const [name, entry] of Object.entries(files)) {
    assertPlainRelative(name);
    const file = path.join(root, name);
    await mkdir(path.dirname(file), { recursive: true });
    if (isSymbolicLink(entry)) {
      await symlink(entry.link, file);
      continue;
    }
    if (isRepeatedFile(entry)) await pipeline(Readable.from(repeatedChunks(entry)), createWriteStream(file));
    else await writeFile(file, entry);
    await chmod(file, 0o444);
    await utimes(file, mtime, mtime);
  }
  // Readable by a submission that runs as another user (--run-as) too; mkdtemp makes it 0700.
  await chmod(root, 0o755);
  return root;
}

/**
 * How a submission process starts: as the grader's user with the grader's environment (one's
 * own code), or, with `--run-as`, as that user with only what a program needs (no secret of the
 * grader's environment reaches it).
 */
function processIdentity(user: LocalUser | undefined, env: Readonly<Record<string, string>>): { env: NodeJS.ProcessEnv; uid?: number; gid?: number } {
  if (!user) return { env: { ...process.env, ...env } };
  return { env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8', ...env }, uid: user.uid, gid: user.gid };
}

/** The host's UDP socket tables: a local submission shares the host's network namespace. */
const hostSocketTables = async () => (await Promise.all(['/proc/net/udp', '/proc/net/udp6'].map((file) => readFile(file, 'utf8').catch(() => '')))).join('');

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
    private readonly user?: LocalUser,
  ) {
    this.stateRoot = user ? path.join(cwd, 'state') : path.join(os.tmpdir(), `netkata-state-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  }

  async start(options: StartOptions): Promise<StartedSubmission> {
    const port = await freePort(this.transport);
    const filesDir = options.files ? await writeReadOnlyFiles(options.files) : undefined;
    const [file, ...args] = this.command;
    log(`Starting ${this.command.join(' ')} with PORT=${port}...`);
    const child = spawn(file!, args, {
      cwd: this.cwd,
      ...processIdentity(this.user, { ...options.env, PORT: String(port), ...(filesDir && { FILES_DIR: filesDirOf(filesDir, options.filesRoot) }) }),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so stop() also ends anything the submission spawned.
      detached: true,
    });
    const started = new StartedLocalSubmission(child, port, filesDir, this.user);
    const probe = this.transport === 'udp' ? udpProbe(port, hostSocketTables) : tcpProbe(started.endpoint, port);
    await awaitListening(started, probe, options.limits.startupTimeoutMs);
    // Tests reach the submission through the relay, the local stand-in for an impaired link.
    const relay = await (this.transport === 'udp' ? UdpRelay : TcpRelay).start(started.endpoint, this.impairment.link, this.impairment.seed);
    started.useRelay(relay);
    log(`Started pid ${child.pid} on 127.0.0.1:${port}, relayed at ${relay.endpoint.port} under ${relay.link.name}`);
    return started;
  }

  /** State folders of this worker's runs, one per name below one root. */
  /**
   * Under --run-as, inside the run's work folder (root's, 0711): the submission's user cannot
   * create the root or plant a link in it before root makes and chowns a state folder there.
   * A root in the world-writable tmp could be re-created by a process the submission left behind.
   */
  private readonly stateRoot: string;

  stateDir(name: string): string {
    return path.join(this.stateRoot, name.replace(/[^a-zA-Z0-9_.-]/g, '-'));
  }

  async dropState(name: string): Promise<void> {
    await rm(this.stateDir(name), { recursive: true, force: true });
    // The root goes with its last state folder (rmdir refuses while another is still in use).
    await rmdir(this.stateRoot).catch(() => {});
  }

  async run(options: RunOptions): Promise<RunResult> {
    const filesDir = options.files ? await writeReadOnlyFiles(options.files) : undefined;
    const stateDir = options.state ? this.stateDir(options.state) : undefined;
    if (stateDir) {
      await mkdir(stateDir, { recursive: true });
      if (this.user) {
        // lchown: were it a link after all, the link would change hands, never what it points to.
        if (!(await lstat(stateDir)).isDirectory()) throw new Error(`state folder ${stateDir} is not a folder`);
        await lchown(stateDir, this.user.uid, this.user.gid);
      }
    }
    const [file, ...args] = this.command;
    const startedAt = performance.now();
    try {
      return await new Promise<RunResult>((resolve) => {
        const child = spawn(file!, [...args, ...options.args], {
          cwd: this.cwd,
          ...processIdentity(this.user, { ...options.env, ...(filesDir && { FILES_DIR: filesDir }), ...(stateDir && { STATE_DIR: stateDir }) }),
          stdio: ['ignore', 'pipe', 'pipe'],
          // Own process group: what the run spawned ends with it, and a child holding its
          // output open cannot keep the run from ending.
          detached: true,
        });
        const collect = (stream: NodeJS.ReadableStream) => {
          const parts: Buffer[] = [];
          let total = 0;
          stream.on('data', (chunk: Buffer) => {
            if (total < MAX_RUN_OUTPUT_BYTES) parts.push(chunk.subarray(0, MAX_RUN_OUTPUT_BYTES - total));
            total += chunk.length;
          });
          return () => Buffer.concat(parts);
        };
        const stdout = collect(child.stdout);
        const stderr = collect(child.stderr);
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          killGroup(child);
        }, options.timeoutMs);
        child.once('exit', () => killGroup(child));
        const finish = (exitCode: number | null) => {
          clearTimeout(timer);
          resolve({
            exitCode: timedOut ? null : exitCode,
            timedOut,
            oomKilled: false,
            stdout: stdout(),
            stderr: stderr(),
            durationMs: performance.now() - startedAt,
          });
        };
        child.once('close', (code) => finish(code));
        child.once('error', (error) => {
          child.stderr.emit('data', Buffer.from(`failed to start: ${error.message}\n`));
          finish(null);
        });
      });
    } finally {
      // Under --run-as, nothing of this run's user outlives it, even what left the group.
      if (this.user) await killProcessesOf(this.user);
      if (filesDir) await rm(filesDir, { recursive: true, force: true });
    }
  }
}

/** SIGKILL to a detached child's whole process group (it and whatever it spawned), if any is left. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
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
    private readonly filesDir: string | undefined,
    /** Under --run-as: every process of that user ends with the submission. */
    private readonly user?: LocalUser,
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

  /** What the tail kept (its last 64 KiB): a local process's output is not stored anywhere else. */
  async output(maxBytes: number): Promise<Buffer> {
    const kept = this.tail.bytes();
    return kept.length > maxBytes ? kept.subarray(kept.length - maxBytes) : kept;
  }

  async exitStatus(): Promise<ExitStatus | undefined> {
    return this.exit;
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    if (!this.exit) process.kill(this.child.pid!, signal);
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
    await this.end();
    if (this.user) await killProcessesOf(this.user);
    if (this.filesDir) await rm(this.filesDir, { recursive: true, force: true });
  }

  private async end(): Promise<void> {
    // A submission that exited may have left its children running (a daemon's): the group goes too.
    if (this.exit) return killGroup(this.child);
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

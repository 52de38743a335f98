import os from 'node:os';
import type { Limits } from '../catalog/manifest.ts';
import type { Endpoint } from '../endpoint.ts';
import type { LinkControl } from '../impairment/link-control.ts';
import type { FileTree } from './files.ts';

// The runtime's interfaces are stated in these; its users take them from here.
export type { Endpoint, LinkControl };

export type RuntimeKind = 'docker' | 'local';

export interface StartOptions {
  /** Extra environment for the submission (PORT is set by the runtime). */
  readonly env?: Readonly<Record<string, string>>;
  readonly limits: Limits;
  /**
   * Files the submission may read but not change, by relative path (`a.txt`, `docs/b.bin`);
   * their folder is in its FILES_DIR.
   */
  readonly files?: FileTree;
  /**
   * A folder of `files` that FILES_DIR names instead of their root: what lies beside it is then
   * outside the submission's folder (a web server's traversal tests plant a secret there).
   */
  readonly filesRoot?: string;
}

/** Where a container finds StartOptions.files. */
export const CONTAINER_FILES_DIR = '/srv/files';

/** Exit information once a submission's process has ended. */
export interface ExitStatus {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly oomKilled: boolean;
}

/** What the submission's processes use right now, as the runtime can see it. */
export interface ProcessStats {
  /** Threads of every process of the submission (a container's tasks; a local process's threads). */
  readonly threads: number;
  /** Resident anonymous memory now (heap, stacks, buffers), without the page cache. */
  readonly memoryBytes: number;
  /** The most memory used at any point so far, when the runtime records it. */
  readonly peakMemoryBytes?: number;
}

export interface StartedSubmission extends AsyncDisposable {
  /** Where tests connect: the container's address on the run network, or 127.0.0.1. */
  readonly endpoint: Endpoint;
  /** The last lines the submission printed (stdout and stderr), capped. */
  logs(maxLines?: number): Promise<string>;
  /** Everything the submission printed (stdout and stderr interleaved) that the runtime kept, at most the last `maxBytes`. */
  output(maxBytes: number): Promise<Buffer>;
  /** The packets on the submission's interface (`grade --artifacts`), where the runtime captures them. */
  readonly capture?: PacketWindow;
  /** undefined while running. */
  exitStatus(): Promise<ExitStatus | undefined>;
  /** Sends a signal to the submission's process (SIGTERM: a graceful shutdown is asked for). */
  signal(signal: NodeJS.Signals): Promise<void>;
  /** undefined once the submission has exited. */
  processStats(): Promise<ProcessStats | undefined>;
  stop(): Promise<void>;
  /** The impaired link between the tests and the submission. */
  readonly link: LinkControl;
}

/** A capture of a submission's packets, cut by time: one test's. */
interface PacketWindow {
  /**
   * The packets stamped from `fromMs` to `toMs` (epoch ms), as a classic pcap file, and how many
   * packets the capture has lost so far (the kernel dropped them before the capture read them).
   */
  cut(fromMs: number, toMs: number): Promise<{ pcap: Buffer; droppedPackets: number }>;
}

/** One run of a command-line submission (a client): arguments in, exit code and output out. */
export interface RunOptions {
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** As StartOptions.files: read-only, in FILES_DIR. */
  readonly files?: FileTree;
  readonly limits: Limits;
  /** Killed after this long. */
  readonly timeoutMs: number;
  /**
   * A folder the submission may write (its STATE_DIR) that outlives the run: runs given the
   * same name share it (a session saved by one run, resumed by the next).
   */
  readonly state?: string;
}

export interface RunResult {
  /** null when the run was killed (timeout, memory limit). */
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly oomKilled: boolean;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly durationMs: number;
}

/** Where a container finds RunOptions.state. */
export const CONTAINER_STATE_DIR = '/srv/state/data';

/** Output kept per stream of a run; a client that floods its output is cut here. */
export const MAX_RUN_OUTPUT_BYTES = 1024 * 1024;

/** Starts submissions. One implementation per place learner code can run. */
export interface SubmissionRuntime {
  readonly kind: RuntimeKind;
  /** A server: started once, then tested over the network. */
  start(options: StartOptions): Promise<StartedSubmission>;
  /** A client: run to completion once per test case, in its own sandbox. */
  run(options: RunOptions): Promise<RunResult>;
  /** Where runs given `state: name` find their STATE_DIR, as they see it. */
  stateDir(name: string): string;
  /** Removes the state folder `name` of earlier runs. */
  dropState(name: string): Promise<void>;
}

/** The port servers listen on inside a container; the local runtime picks a free one. */
export const CONTAINER_PORT = 7000;

/** The signal behind a shell-style exit code (128 + n), as a container's init reports it. */
export function signalOfExitCode(exitCode: number | null): NodeJS.Signals | null {
  if (exitCode === null || exitCode <= 128) return null;
  const found = Object.entries(os.constants.signals).find(([, number]) => number === exitCode - 128);
  return (found?.[0] as NodeJS.Signals | undefined) ?? null;
}

import type { Limits, Manifest } from '../catalog/manifest.ts';
import type { ImpairmentBackend } from '../impairment/backend-commands.ts';
import type { LinkSpec } from '../impairment/profile.ts';
import type { EdgeInfo } from './docker/edge.ts';
import type { RuntimeKind } from './runtime.ts';

/**
 * Everything a test worker needs to start the submission, handed from the main process
 * to the hidden suite through vitest's provide/inject. Plain data only: it is serialized.
 */
export interface RunContext {
  readonly runId: string;
  readonly runtime: RuntimeKind;
  readonly exercise: Pick<Manifest, 'id' | 'kind' | 'transport'>;
  readonly limits: Limits;
  /** The link the files of this vitest run are graded under. */
  readonly impairment: {
    readonly backend: ImpairmentBackend;
    readonly link: LinkSpec;
    /** Seeds every impairment decision, so a run can be replayed. */
    readonly seed: number;
  };
  /**
   * A gated grade (no `--all`): once a test fails and the submission has not sent a byte in
   * this file, or is not running, the file's remaining tests fail at once with that reason.
   */
  readonly failFast?: boolean;
  /**
   * How long a read waits when a test names no timeout: shorter for visible tests on a clean
   * link (a silent starter's result in seconds), DEFAULT_IO_TIMEOUT_MS otherwise.
   */
  readonly ioTimeoutMs?: number;
  /**
   * `grade --artifacts DIR`, absolute: each failed test leaves its transcript, the submission's
   * output and (in containers) a packet capture in a folder of its own here.
   */
  readonly artifactsDir?: string;
  readonly local?: {
    /** argv of the built submission, e.g. [process.execPath, '/tmp/.../main.mjs'] */
    readonly command: readonly string[];
    readonly cwd: string;
    /** The unprivileged user the submission runs as (`--run-as`), so it cannot write what the grader writes. */
    readonly user?: LocalUser;
  };
  readonly docker?: {
    readonly image: string;
    readonly network: string;
    readonly labels: Readonly<Record<string, string>>;
    /** The impairment sidecar's image. */
    readonly impairImage: string;
    /** The grader's Node image, which peers (backends, TLS servers) run in. */
    readonly runtimeImage: string;
    /** The tags of the manifest's peerImages, by name (`http-peer`): what a PeerSpec.image names. */
    readonly peerImages?: Readonly<Record<string, string>>;
    /** Set when tests cannot reach container addresses (remote engine, Docker Desktop): route through the edge. */
    readonly edge?: EdgeInfo;
  };
}

export const CONTEXT_KEY = 'netkata';

/**
 * The bound a test holds a figure to: at most `max`, at least `min`, or both. Recorded by the
 * harness's figure() in TaskMeta.limits and reported by the runner, so it lives here, beside the
 * rest of what the main process and its tests share.
 */
export interface FigureLimit {
  readonly min?: number;
  readonly max?: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    netkata: RunContext;
  }
}

/** A user of this machine, resolved once by the main process: its name, for messages, and its ids. */
export interface LocalUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

import type { Limits } from '../catalog/manifest.ts';

export type RuntimeKind = 'docker' | 'local';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface StartOptions {
  /** Extra environment for the submission (PORT is set by the runtime). */
  readonly env?: Readonly<Record<string, string>>;
  readonly limits: Limits;
}

/** Exit information once a submission's process has ended. */
export interface ExitStatus {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly oomKilled: boolean;
}

export interface StartedSubmission extends AsyncDisposable {
  /** Where tests connect: the container's address on the run network, or 127.0.0.1. */
  readonly endpoint: Endpoint;
  /** The last lines the submission printed (stdout and stderr), capped. */
  logs(maxLines?: number): Promise<string>;
  /** undefined while running. */
  exitStatus(): Promise<ExitStatus | undefined>;
  stop(): Promise<void>;
}

/** Starts submissions. One implementation per place learner code can run. */
export interface SubmissionRuntime {
  readonly kind: RuntimeKind;
  start(options: StartOptions): Promise<StartedSubmission>;
}

/** The port servers listen on inside a container; the local runtime picks a free one. */
export const CONTAINER_PORT = 7000;

import type { ImpairmentBackend } from './backend-commands.ts';
import type { LinkSpec } from './profile.ts';

/** Changes the link while a test runs: a new profile, a partition, a heal. */
export interface LinkControl {
  readonly backend: ImpairmentBackend;
  /** The profile in force (a partition keeps it, to heal back to). */
  readonly profile: LinkSpec;
  set(link: LinkSpec): Promise<void>;
  /** Nothing gets through, either way, until heal(). */
  partition(): Promise<void>;
  heal(): Promise<void>;
  /** What the backend counted (userspace engine: packets seen, dropped...); undefined if it counts nothing. */
  stats(): Promise<Record<string, number> | undefined>;
  close(): Promise<void>;
}

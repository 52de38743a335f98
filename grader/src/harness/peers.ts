import { afterAll, beforeAll } from 'vitest';
import { timePhase } from './phases.ts';
import { InfrastructureError } from '../errors.ts';
import { loadProfile, parseProfile, type Profile } from '../impairment/profile.ts';
import type { PeerSpec, StartedPeer } from '../runtime/docker/peer.ts';
import type { Endpoint } from '../runtime/runtime.ts';
import { runContext } from './submission.ts';

export type { PeerSpec } from '../runtime/docker/peer.ts';

/** A grader-owned host beside the submission, as a test file sees it. */
export interface PeerHandle {
  readonly name: string;
  /** Where the tests reach one of its ports (through published ports: readyPort only). */
  endpoint(port: number): Endpoint;
  /** SIGKILL; restart() brings it back under the same name. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Frozen: connections stay open, nothing answers. */
  pause(): Promise<void>;
  unpause(): Promise<void>;
  /** Its own link (its eth0), apart from the submission's. */
  readonly link: {
    set(profile: string | Profile): Promise<void>;
    partition(): Promise<void>;
    heal(): Promise<void>;
    /** The userspace engine's counters for this peer's link, when that is the backend. */
    stats(): Promise<Record<string, number> | undefined>;
  };
  logs(maxLines?: number): Promise<string>;
  /** Runs a command inside it (a load generator's run): its exit code and output. */
  exec(command: readonly string[], options?: { timeoutMs?: number }): Promise<{ exitCode: number; output: string }>;
  /**
   * Running, unpaused, its link healed and clean, whatever a test did (for a beforeEach). True
   * if anything had to be undone. Throws InfrastructureError when it cannot.
   */
  restore(): Promise<boolean>;
}

/**
 * Starts a peer for this test file, before the submission if called before useSubmission()
 * (hooks run in the order they were registered), and removes it after the file.
 */
export function usePeer(spec: PeerSpec): PeerHandle {
  const context = runContext();
  let started: StartedPeer | undefined;

  beforeAll(async ({}, suite) => {
    const { docker } = context;
    if (context.runtime !== 'docker' || !docker) throw new InfrastructureError(`peer ${spec.name} needs the docker runtime (--runtime docker)`);
    const [{ StartedPeer }, { DockerEngine }] = await Promise.all([import('../runtime/docker/peer.ts'), import('../runtime/docker/engine.ts')]);
    started = await timePhase(suite, 'peer start', async () =>
      StartedPeer.start(await DockerEngine.connect(), { ...context, docker }, spec, loadProfile('clean')),
    );
  }, 60_000);

  afterAll(async ({}, suite) => {
    await timePhase(suite, 'peer stop', async () => started?.stop());
  }, 30_000);

  const live = () => {
    if (!started) throw new Error(`peer ${spec.name} is not running (usePeer() is used inside tests only)`);
    return started;
  };
  // Whether a test changed the link since the last restore: a clean link has no sidecar, and
  // healing one would attach it for nothing.
  let linkChanged = false;
  const restoreLink = async () => {
    if (!linkChanged) return false;
    try {
      await live().link.heal();
      await live().link.set(loadProfile('clean'));
    } catch (error) {
      throw new InfrastructureError(`could not restore the link of peer ${spec.name}: ${(error as Error).message}`, { cause: error });
    }
    linkChanged = false;
    return true;
  };
  return {
    name: spec.name,
    endpoint: (port) => live().endpoint(port),
    kill: () => live().kill(),
    restart: () => live().restart(),
    pause: () => live().pause(),
    unpause: () => live().unpause(),
    link: {
      set: (profile) => {
        linkChanged = true;
        return live().link.set(typeof profile === 'string' ? loadProfile(profile) : parseProfile('custom', profile));
      },
      partition: () => {
        linkChanged = true;
        return live().link.partition();
      },
      heal: () => live().link.heal(),
      stats: () => live().link.stats(),
    },
    logs: (maxLines) => live().logs(maxLines),
    exec: (command, options) => live().exec(command, options?.timeoutMs ?? 60_000),
    restore: async () => {
      const restarted = await live().restore();
      return (await restoreLink()) || restarted;
    },
  };
}

import { setTimeout as sleep } from 'node:timers/promises';
import { InfrastructureError } from '../../errors.ts';
import { logger } from '../../log.ts';
import {
  ENGINE_MARK,
  ENGINE_QUEUE,
  engineConfig,
  netemApplyCommands,
  netemSetupCommands,
  netemTeardownCommands,
  rateCommands,
} from '../../impairment/backend-commands.ts';
import type { LinkSpec } from '../../impairment/profile.ts';
import { demultiplexLogs } from '../log-tail.ts';
import type { DockerEngine } from './engine.ts';
import { LABEL_ROLE } from './labels.ts';

const log = logger('impair');

/** One CPU: the engine is single-threaded, and a second one would only let it take a grade's share. */
export const SIDECAR_NANO_CPUS = 1_000_000_000;
export const SIDECAR_MEMORY_BYTES = 64 * 1024 * 1024;

export type PacketBackend = 'netem' | 'userspace';

export interface SidecarOptions {
  readonly engine: DockerEngine;
  /** The container whose network namespace gets impaired. */
  readonly targetId: string;
  readonly backend: PacketBackend;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Seeds the userspace engine's coin flips, so a run can be replayed packet for packet. */
  readonly seed: number;
}

/**
 * The userspace engine's counters: per direction (`egress.seen`, `ingress.dropped`...), its own
 * (`degraded`, `late`, `held`, `portid`, `bound`) and the kernel's for its queue
 * (`kernel.queue_dropped`, `kernel.user_dropped`...): see containers/impair/netkata-engine.c.
 */
export type EngineStats = Record<string, number>;

/**
 * A grader-owned container in the target's network namespace with NET_ADMIN (the learner's
 * container never has it), as Pumba does: it owns the qdiscs or the NFQUEUE engine that
 * impair the target's eth0 in both directions.
 */
export class ImpairmentSidecar {
  private generation = 0;
  private current: LinkSpec | undefined;
  private seed: number;

  private constructor(
    private readonly options: SidecarOptions,
    readonly id: string,
  ) {
    this.seed = options.seed;
  }

  static async attach(options: SidecarOptions): Promise<ImpairmentSidecar> {
    const { engine, targetId, backend } = options;
    log(`Attaching a ${backend} sidecar to ${targetId.slice(0, 12)}...`);
    const cmd = backend === 'userspace' ? ['netkata-link', 'start-userspace', String(ENGINE_QUEUE), ENGINE_MARK] : ['sleep', 'infinity'];
    let id: string;
    try {
      const container = await engine.dockerode.createContainer({
        Image: options.image,
        Cmd: cmd,
        Labels: { ...options.labels, [LABEL_ROLE]: 'impairment' },
        HostConfig: {
          NetworkMode: `container:${targetId}`,
          CapDrop: ['ALL'],
          CapAdd: ['NET_ADMIN', 'NET_RAW'],
          SecurityOpt: ['no-new-privileges:true'],
          // Bounded like everything else on the machine, with room to spare: the engine is one
          // thread and keeps its packet copies under 24 MiB (see netkata-engine.c), and a flood
          // it cannot keep up with is counted, never a silent pass.
          NanoCpus: SIDECAR_NANO_CPUS,
          Memory: SIDECAR_MEMORY_BYTES,
          MemorySwap: SIDECAR_MEMORY_BYTES,
          PidsLimit: 64,
          LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
        },
      });
      id = container.id;
      await container.start();
    } catch (error) {
      throw new InfrastructureError(`could not start the impairment sidecar: ${(error as Error).message}`, { cause: error });
    }
    const sidecar = new ImpairmentSidecar(options, id);
    if (backend === 'netem') {
      for (const command of netemSetupCommands()) await sidecar.run(command);
    } else {
      await sidecar.waitForEngine();
    }
    log(`Attached sidecar ${id.slice(0, 12)}`);
    return sidecar;
  }

  get link(): LinkSpec | undefined {
    return this.current;
  }

  /**
   * Applies a profile to both directions; returns once the backend has it in force. The
   * engine restarts its random streams from `seed` (default: the sidecar's) on every apply.
   */
  async apply(link: LinkSpec, seed = this.options.seed): Promise<void> {
    this.seed = seed;
    await this.configure(link, false);
    this.current = link;
  }

  /** Drops every packet both ways until heal() (or the next apply()). */
  async partition(): Promise<void> {
    if (!this.current) throw new InfrastructureError('partition() before any profile was applied');
    await this.configure(this.current, true);
  }

  async heal(): Promise<void> {
    if (!this.current) throw new InfrastructureError('heal() before any profile was applied');
    await this.configure(this.current, false);
  }

  /**
   * The userspace engine's counters; undefined for netem. Throws an InfrastructureError saying
   * so when the engine is down (its sidecar exits with it): packets then pass unimpaired.
   */
  async stats(): Promise<EngineStats | undefined> {
    if (this.options.backend !== 'userspace') return undefined;
    const result = await this.options.engine.exec(this.id, ['netkata-link', 'stats']).catch((error: Error) => ({ exitCode: -1, output: error.message }));
    if (result.exitCode !== 0) {
      const down = await this.engineDown();
      throw new InfrastructureError(
        down ? `${down}, so packets pass unimpaired` : `the userspace impairment engine did not report its counters: ${result.output.trim().slice(0, 200)}`,
      );
    }
    const { output } = result;
    const stats: EngineStats = {};
    for (const line of output.split('\n')) {
      const [key, value] = line.split('=');
      if (key && value !== undefined && Number.isFinite(Number(value))) stats[key.trim()] = Number(value);
    }
    return stats;
  }

  /** Why the engine is down, from its sidecar's container (the engine is its PID 1); undefined if it runs. */
  private async engineDown(): Promise<string | undefined> {
    const info = await this.options.engine.dockerode
      .getContainer(this.id)
      .inspect()
      .catch(() => undefined);
    if (!info) return 'the userspace impairment engine is gone (its sidecar was removed)';
    const { Running, ExitCode, OOMKilled } = info.State;
    if (!Running) return `the userspace impairment engine exited (exit code ${ExitCode}${OOMKilled ? ', killed for exceeding its memory limit' : ''})`;
    return undefined;
  }

  async stop(): Promise<void> {
    const container = this.options.engine.dockerode.getContainer(this.id);
    // The rules and qdiscs live in the target's namespace, which outlives this container.
    const teardown = this.options.backend === 'netem' ? netemTeardownCommands() : [['netkata-link', 'stop']];
    for (const command of teardown) await this.run(command).catch(() => {});
    await container.remove({ force: true }).catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404) throw error;
    });
  }

  private async configure(link: LinkSpec, partitioned: boolean): Promise<void> {
    if (this.options.backend === 'netem') {
      for (const command of netemApplyCommands(link, partitioned)) await this.run(command);
      return;
    }
    const generation = ++this.generation;
    await this.run(['netkata-link', 'apply', String(generation), engineConfig(link, generation, this.seed, partitioned)]);
    for (const command of rateCommands(link)) await this.run(command);
  }

  /** The engine is up once it has written its first `applied` generation. */
  private async waitForEngine(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const result = await this.options.engine
        .exec(this.id, ['cat', '/run/netkata/applied'])
        .catch((error: Error) => ({ exitCode: -1, output: error.message }));
      if (result.exitCode === 0) return;
      last = result.output;
      await sleep(50);
    }
    const logs = await this.options.engine.dockerode
      .getContainer(this.id)
      .logs({ stdout: true, stderr: true, tail: 20 })
      .catch(() => Buffer.alloc(0));
    throw new InfrastructureError(`the userspace impairment engine did not start within ${timeoutMs} ms (${last.trim()}): ${demultiplexLogs(logs).lines(20)}`);
  }

  private async run(command: readonly string[]): Promise<{ output: string }> {
    const result = await this.options.engine.exec(this.id, command);
    if (result.exitCode !== 0) {
      const shown = command
        .slice(0, 6)
        .map((arg) => (arg.length > 40 ? '...' : arg))
        .join(' ');
      throw new InfrastructureError(`impairment sidecar: \`${shown}\` failed (exit ${result.exitCode}): ${result.output.trim()}`);
    }
    return result;
  }
}

import { isCleanLink, type LinkSpec } from '../../impairment/profile.ts';
import type { LinkControl } from '../runtime.ts';
import type { DockerEngine } from './engine.ts';
import { ImpairmentSidecar, type PacketBackend } from './impair-sidecar.ts';

export interface DockerLinkOptions {
  readonly engine: DockerEngine;
  readonly targetId: string;
  readonly backend: PacketBackend;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly seed: number;
}

/**
 * The submission container's eth0 as the tests see it. The sidecar is attached on the first
 * impairment: a clean link has nothing in the path at all.
 */
export class DockerLink implements LinkControl {
  private sidecar: Promise<ImpairmentSidecar> | undefined;
  private current: LinkSpec;

  constructor(
    private readonly options: DockerLinkOptions,
    initial: LinkSpec,
  ) {
    this.current = initial;
  }

  get backend(): PacketBackend {
    return this.options.backend;
  }

  get profile(): LinkSpec {
    return this.current;
  }

  /**
   * Starts attaching the sidecar an impaired initial profile will need, with nothing in force
   * yet (the engine passes every packet until told otherwise), so its start overlaps the wait
   * for the submission to listen; init() then brings the profile into force.
   */
  prepare(): void {
    // A failed attach is init()'s to report: it awaits the same attempt.
    if (!isCleanLink(this.current)) this.attached().catch(() => {});
  }

  /** Brings the initial profile into force (a no-op for a clean link). */
  async init(): Promise<void> {
    if (!isCleanLink(this.current)) await (await this.attached()).apply(this.current);
  }

  async set(link: LinkSpec): Promise<void> {
    await (await this.attached()).apply(link);
    this.current = link;
  }

  async partition(): Promise<void> {
    const sidecar = await this.attached();
    if (!sidecar.link) await sidecar.apply(this.current);
    await sidecar.partition();
  }

  async heal(): Promise<void> {
    await (await this.attached()).heal();
  }

  async stats(): Promise<Record<string, number> | undefined> {
    return this.sidecar ? (await this.sidecar).stats() : undefined;
  }

  async close(): Promise<void> {
    const sidecar = this.sidecar;
    this.sidecar = undefined;
    // One that never attached (prepare()'s attempt failed) has nothing to stop; init() said why.
    if (sidecar) await (await sidecar.catch(() => undefined))?.stop();
  }

  private attached(): Promise<ImpairmentSidecar> {
    this.sidecar ??= ImpairmentSidecar.attach({ ...this.options });
    return this.sidecar;
  }
}

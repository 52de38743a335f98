import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { StartedTestContainer } from 'testcontainers';
import { limitsSchema } from '../../catalog/manifest.ts';
import { InfrastructureError } from '../../errors.ts';
import { InterruptedError } from '../../lifetime.ts';
import {
  attemptSeed,
  BASELINE_DELAY_MS,
  calibrateLink,
  measureBaseline,
  reverifyLink,
  type Baseline,
  type Calibration,
  type Probe,
  type ProbeStats,
} from '../../impairment/calibrate.ts';
import { CalibrationCache, calibrationKey } from '../../impairment/calibration-cache.ts';
import { logger } from '../../log.ts';
import { parseProfile, type LinkSpec } from '../../impairment/profile.ts';
import { SandboxedContainer } from './docker-runtime.ts';
import { claimSlot, type EdgeInfo, type EdgeSlot } from './edge.ts';
import type { DockerEngine } from './engine.ts';
import { ImpairmentSidecar, type PacketBackend } from './impair-sidecar.ts';
import { LABEL_ROLE } from './labels.ts';

const PROBE_SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'impairment', 'probe', 'probe.cjs');
const PROBE_PORT = 7001;
const log = logger('calibrate');

export interface DockerCalibrationOptions {
  readonly engine: DockerEngine;
  readonly network: string;
  readonly runtimeImage: string;
  readonly impairImage: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly backend: PacketBackend;
  readonly seed: number;
  /** Route the probe's UDP through the run's edge (engines whose container addresses are out of reach). */
  readonly edge?: EdgeInfo;
}

/** A probe container with an impairment sidecar in its namespace: a link to measure. */
export interface ProbeSession extends AsyncDisposable {
  readonly probe: Probe;
  readonly sidecar: ImpairmentSidecar;
  close(): Promise<void>;
}

/** Starts the probe in its own sandboxed container on the run network and attaches a sidecar to it. */
export async function startProbeSession(options: DockerCalibrationOptions): Promise<ProbeSession> {
  const { engine } = options;
  let container: StartedTestContainer | undefined;
  let slot: EdgeSlot | undefined;
  const close = async () => {
    await slot?.release();
    await sidecar?.stop().catch(() => {});
    await container?.stop({ timeout: 1_000, remove: true }).catch(() => {});
  };
  let sidecar: ImpairmentSidecar | undefined;
  try {
    container = await new SandboxedContainer(options.runtimeImage)
      .withSandbox(limitsSchema.parse({ memoryMb: 96, pids: 32 }))
      .withNetworkMode(options.network)
      .withLabels({ ...options.labels, [LABEL_ROLE]: 'probe' })
      .withEnvironment({ PROBE_PORT: String(PROBE_PORT) })
      .withCommand(['node', '-e', await readFile(PROBE_SOURCE, 'utf8')])
      .withAutoRemove(false)
      .start();
    const id = container.getId();
    const stats = async (): Promise<ProbeStats> => {
      const result = await engine.exec(id, ['cat', '/tmp/probe-stats.json']);
      if (result.exitCode !== 0) throw new InfrastructureError(`the calibration probe has no counters: ${result.output}`);
      return JSON.parse(result.output) as ProbeStats;
    };
    await waitFor(stats, 10_000);
    const address = { host: container.getIpAddress(options.network), port: PROBE_PORT };
    slot = options.edge ? await claimSlot(engine, options.edge, address) : undefined;
    const probe: Probe = { target: slot?.udp ?? address, stats };
    sidecar = await ImpairmentSidecar.attach({
      engine,
      targetId: id,
      backend: options.backend,
      image: options.impairImage,
      labels: options.labels,
      seed: options.seed,
    });
    const attached = sidecar;
    return { probe: { ...probe, engineStats: () => attached.stats() }, sidecar: attached, close, [Symbol.asyncDispose]: close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Calibrates a profile the way submissions will meet it: a probe in its own sandboxed container
 * on the run network, the same sidecar and backend in its namespace, measured from the host.
 */
export async function calibrateOnDocker(options: DockerCalibrationOptions, link: LinkSpec): Promise<Calibration> {
  await using session = await startProbeSession(options);
  return await calibrateLink(session.probe, link, options.backend, (attempt) => baselineOf(session, link, attemptSeed(options.seed, attempt)));
}

/** The grader's files that decide how a profile is measured and turned into engine settings. */
const CALIBRATION_SOURCES = [
  '../../impairment/calibrate.ts',
  '../../impairment/backend-commands.ts',
  '../../impairment/profile.ts',
  '../../impairment/probe/probe.cjs',
  './impair-sidecar.ts',
  './calibration-probe.ts',
].map((file) => fileURLToPath(new URL(file, import.meta.url)));

/**
 * A run's calibrations, each in a probe session of its own that is closed when it ends (the
 * probe answers anyone on the run network, so it never runs beside a submission). A profile is
 * calibrated in full only when this machine and engine have no recent full calibration of it:
 * otherwise a re-verification of REVERIFY_PROBES probes against the same bounds, and a full
 * calibration after all if the link no longer measures within them.
 */
export class DockerCalibrator implements AsyncDisposable {
  private session: Promise<ProbeSession> | undefined;
  private machine: Promise<Record<string, unknown>> | undefined;
  private closed = false;

  constructor(
    private readonly options: DockerCalibrationOptions,
    private readonly cache: CalibrationCache | undefined = new CalibrationCache(),
  ) {}

  async calibrate(link: LinkSpec): Promise<Calibration> {
    if (this.closed) throw new InterruptedError('interrupted: the run is being removed');
    this.session = startProbeSession(this.options);
    try {
      const session = await this.session;
      const prepare = (attempt: number) => baselineOf(session, link, attemptSeed(this.options.seed, attempt));
      const key = this.cache && calibrationKey({ ...(await this.machineParts()), link: { ingress: link.ingress, egress: link.egress } });
      const reference = key ? await this.cache?.get(key) : undefined;
      if (reference) {
        // A seed of its own (attempt 3): a full calibration after it starts from attempt 1's.
        const reverified = await reverifyLink(session.probe, link, this.options.backend, () => prepare(3), reference);
        if (reverified.ok) return reverified;
        log(
          `${link.name} no longer measures within its bounds (${reverified.checks
            .filter((c) => !c.ok)
            .map((c) => c.name)
            .join(', ')}); calibrating in full`,
        );
      }
      const full = await calibrateLink(session.probe, link, this.options.backend, prepare);
      if (key) await this.cache?.put(key, full);
      return full;
    } finally {
      await this.closeSession();
    }
  }

  /**
   * What decides how a link measures here, besides the profile: the engine (its ID, kernel,
   * cores, version, DOCKER_HOST), the backend, the images by content (an online and an offline
   * build of one folder share a tag, not an ID) and the grader's own calibration sources.
   */
  private machineParts(): Promise<Record<string, unknown>> {
    this.machine ??= (async () => {
      const { engine, backend, impairImage, runtimeImage } = this.options;
      const info = (await engine.dockerode.info()) as { ID?: string; KernelVersion?: string; NCPU?: number };
      const imageId = async (tag: string) => ((await engine.dockerode.getImage(tag).inspect()) as { Id: string }).Id;
      const sources = createHash('sha256');
      for (const file of CALIBRATION_SOURCES) sources.update(await readFile(file));
      return {
        engine: info.ID,
        host: process.env.DOCKER_HOST ?? '',
        kernel: info.KernelVersion,
        cpus: info.NCPU,
        docker: engine.serverVersion,
        backend,
        impairImage: await imageId(impairImage),
        runtimeImage: await imageId(runtimeImage),
        sources: sources.digest('hex'),
        edge: Boolean(this.options.edge),
      };
    })();
    return this.machine;
  }

  private async closeSession(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await (await session?.catch(() => undefined))?.close();
  }

  /** Ends the session under way, if any; no calibration starts after. */
  async close(): Promise<void> {
    this.closed = true;
    await this.closeSession();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

const TIMED_BASELINE = parseProfile('baseline', { description: "each packet held on the engine's timer, nothing else", delayMs: BASELINE_DELAY_MS });

/** The path's own round trip (see measureBaseline), then the profile back in force from `seed`. */
export async function baselineOf(session: ProbeSession, link: LinkSpec, seed?: number): Promise<Baseline> {
  await session.sidecar.apply(TIMED_BASELINE);
  const baseline = await measureBaseline(session.probe, TIMED_BASELINE);
  await session.sidecar.apply(link, seed);
  return baseline;
}

async function waitFor(check: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new InfrastructureError(`the calibration probe did not start within ${timeoutMs} ms: ${(error as Error).message}`);
      await sleep(100);
    }
  }
}

import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Exercise } from '../catalog/catalog.ts';
import { bundleSubmission } from '../build/bundle.ts';
import { buildSubmissionImage } from '../build/submission-image.ts';
import type { Submission } from '../build/submission.ts';
import { ConfigError, RuntimeUnavailableError } from '../errors.ts';
import { ensureImage, type BuildMode } from '../images/ensure-image.ts';
import type { ImageDefinition } from '../images/image-spec.ts';
import { InterruptedError, type Lifetime } from '../lifetime.ts';
import { logger, notice } from '../log.ts';
import type { RunContext } from '../runtime/context.ts';
import { resolveLocalUser } from '../runtime/local-user.ts';
import { DockerEngine } from '../runtime/docker/engine.ts';
import { runLabels, WORK_DIR_OWNER_FILE } from '../runtime/docker/labels.ts';
import type { BackendChoice, ImpairmentBackend } from '../impairment/backend-commands.ts';
import type { Calibration } from '../impairment/calibrate.ts';
import type { LinkSpec } from '../impairment/profile.ts';
import { calibrateRelay } from '../impairment/relay/calibrate-relay.ts';
import { DockerCalibrator } from '../runtime/docker/calibration-probe.ts';
import { chooseBackend, detectBackends } from '../runtime/docker/detect-backend.ts';
import { guardHost, unguardHost, type HostGuardInfo } from '../runtime/docker/host-guard.ts';
import { chooseEndpointMode, startEdge } from '../runtime/docker/edge.ts';
import { Reaper } from './reaper.ts';
import type { RuntimeReport } from './outcome.ts';
import { PhaseClock } from '../phase-clock.ts';
import { allOrFirstError } from '../settle.ts';

const log = logger('run');

export type RuntimeChoice = 'auto' | 'docker' | 'local';

export interface StartRunOptions {
  readonly exercise: Exercise;
  readonly submission: Submission;
  readonly runtime: RuntimeChoice;
  /**
   * The submission may be someone else's code (`--submission`, a batch, an upload): with
   * `runtime: 'auto'` it runs sandboxed or not at all, never on the local runtime.
   */
  readonly foreign: boolean;
  readonly impairment: BackendChoice;
  readonly seed: number;
  readonly buildMode: BuildMode;
  /** Base images a Dockerfile submission may build FROM besides the grader's (an instructor's choice). */
  readonly allowBases?: readonly string[];
  /** The local runtime starts the submission as this unprivileged user (an autograder's container, Gradescope's). */
  readonly runAs?: string;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** How long disposal waits for a step already under way (an image build) before removing around it. */
const SETTLE_MS = 20_000;

/**
 * One grading run and everything it owns: the engine connection, its reaper, the work folder,
 * images, networks, the host's firewall rule, the edge, and the test runs (whose workers create
 * submissions, peers, sidecars and probes, all labelled with the run). Disposing happens once, in
 * the one order that is safe by construction: first the test runs stop (so nothing new is
 * created), then every labelled container, network, image and volume goes, only then is the host
 * opened to the run's bridge again, then the work folder goes and the reaper stands down. If the
 * grader dies before that, the reaper does the same.
 */
export class StartedRun implements AsyncDisposable {
  readonly id = newRunId();
  readonly notices: string[] = [];
  private engine: DockerEngine | undefined;
  private reaper: Reaper | undefined;
  private guard: HostGuardInfo | undefined;
  private workDir: string | undefined;
  private calibrator: DockerCalibrator | undefined;
  private readonly suites = new Set<() => Promise<void>>();
  /** Steps of the start under way (several at once: image checks, the bundle, the sweep). */
  private readonly steps = new Set<Promise<unknown>>();
  /** Where the start's time went, by step; grade adds calibrations, test runs and removal. */
  readonly phases = new PhaseClock();
  private disposing: Promise<void> | undefined;
  // Set once started.
  context!: Omit<RunContext, 'impairment'>;
  backend!: ImpairmentBackend;
  runtime!: RuntimeReport;
  calibrate!: (link: LinkSpec) => Promise<Calibration>;

  private constructor() {}

  /**
   * Starts a run held by `lifetime`, so that a signal during the start disposes of what exists
   * so far. A syntax error or a failing Dockerfile surfaces here as SubmissionBuildError, the
   * learner's failure; the run is disposed of before it propagates.
   */
  static async start(options: StartRunOptions, lifetime: Lifetime): Promise<StartedRun> {
    const run = lifetime.hold(new StartedRun());
    try {
      await run.startWith(options);
    } catch (error) {
      await run.dispose();
      throw error;
    }
    return run;
  }

  /** Runs one step of the start, timed as `phase`; none begins once disposal has. */
  private async at<T>(phase: string, work: () => Promise<T>): Promise<T> {
    if (this.disposing) throw new InterruptedError('interrupted: the run is being removed');
    const step = this.phases.time(phase, work);
    const settled: Promise<unknown> = step.then(
      () => this.steps.delete(settled),
      () => this.steps.delete(settled),
    );
    this.steps.add(settled);
    return step;
  }

  /** A test run (vitest) of this run: stopped first on disposal, so its workers create nothing after. */
  trackSuite(close: () => Promise<void>): () => void {
    if (this.disposing) throw new InterruptedError('interrupted: the run is being removed');
    this.suites.add(close);
    return () => this.suites.delete(close);
  }

  private async startWith(options: StartRunOptions): Promise<void> {
    const { exercise, submission } = options;
    const engine = await this.at('connect', () => connectRuntime(options, this.notices));
    if (engine) {
      // The reaper first: from here on, a grader killed outright still leaves nothing behind.
      this.engine = engine;
      this.reaper = Reaper.start(this.id);
    }
    this.workDir = await this.at('work folder', () => mkdtemp(path.join(os.tmpdir(), `netkata-${this.id}-`)));
    this.reaper?.tell({ workDir: this.workDir });
    const workDir = this.workDir;
    // `netkata cleanup` tells a dead grader's folder from a live one's by this; written whole or
    // not at all, since another grader's cleanup may read it at any moment.
    const ownerFile = path.join(workDir, WORK_DIR_OWNER_FILE);
    await writeFile(`${ownerFile}.tmp`, JSON.stringify(runLabels(this.id)));
    await rename(`${ownerFile}.tmp`, ownerFile);
    const bundling =
      submission.kind === 'typescript'
        ? this.at('bundle', () => bundleSubmission(submission.entry, workDir, { forbiddenModules: exercise.manifest.forbiddenModules }))
        : Promise.resolve(undefined);
    const base = {
      runId: this.id,
      exercise: { id: exercise.manifest.id, kind: exercise.manifest.kind, transport: exercise.manifest.transport },
      limits: exercise.manifest.limits,
    };

    if (!engine) {
      const bundle = await bundling;
      if (!bundle) throw new ConfigError(`${submission.dir} is a Dockerfile submission; it needs a Docker engine (--runtime docker)`);
      if (options.impairment !== 'auto')
        throw new ConfigError(`--impairment ${options.impairment} needs a Docker engine; the local runtime impairs through its relay`);
      const user = options.runAs === undefined ? undefined : await resolveLocalUser(options.runAs);
      if (user) {
        // The user gets into the work folder and reads its bundle, nothing more.
        await chmod(workDir, 0o711);
        await chmod(bundle, 0o644);
      }
      this.context = { ...base, runtime: 'local', local: { command: [process.execPath, bundle], cwd: workDir, ...(user && { user }) } };
      this.backend = 'relay';
      this.runtime = { kind: 'local', version: process.version, isolated: false };
      this.calibrate = (link) => this.at(`calibrate ${link.name}`, () => calibrateRelay(link, options.seed));
      return;
    }

    if (options.runAs !== undefined)
      throw new ConfigError(`--run-as is for the local runtime (--runtime local); in a container the submission already runs as an unprivileged user`);
    const labels = runLabels(this.id);
    // What does not depend on each other starts at once: the bundle (host CPU), the sweep, the
    // image checks and the network (engine calls), the backend and endpoint probes.
    const image = (name: string) => this.at(`image ${name}`, () => ensureImage(engine, name, options.buildMode));
    const impairing = image('impair');
    // The bundle first: a learner's syntax error wins over an engine's failure.
    const peerImages = Promise.all(exercise.manifest.peerImages.map(async (name) => [name, (await image(name)).tag] as const));
    const [bundle, swept, runtimeImage, runtimeC, network, impair, backends, endpoints, peers] = await allOrFirstError([
      bundling,
      this.at('sweep', () => engine.sweepStale()),
      image('runtime'),
      // Both of the grader's images for a Dockerfile: reading the learner's Dockerfile to choose
      // would follow a link out of the folder before the build's own checks do.
      submission.kind === 'dockerfile' ? image('runtime-c') : undefined,
      this.at('network', () => engine.createRunNetwork(this.id)),
      impairing,
      impairing.then((impair) => this.at('backend', () => detectBackends(engine, impair.tag))),
      this.at('endpoints', () => chooseEndpointMode(engine)),
      peerImages,
    ]);
    if (swept > 0) log(`Removed ${swept} stale runs`);
    const images: Record<string, ImageDefinition> = { runtime: runtimeImage, ...(runtimeC && { 'runtime-c': runtimeC }) };
    const tag = `netkata/submission:${this.id}`;
    // Announced before it is installed: a grader killed while installing it still has it removed.
    const guard: HostGuardInfo = { image: impair.tag, bridge: DockerEngine.bridgeName(this.id), runId: this.id };
    this.guard = guard;
    this.reaper?.tell({ guard });
    await allOrFirstError([
      this.at('submission image', () =>
        buildSubmissionImage({ engine, submission, bundle, workDir, images, tag, labels, ...(options.allowBases && { allowBases: options.allowBases }) }),
      ),
      this.at('host guard', () => guardHost(engine, guard)),
    ]);
    const backend = chooseBackend(options.impairment, backends);
    const edge = endpoints === 'published' ? await this.at('edge', () => startEdge(engine, this.id, network, runtimeImage.tag)) : undefined;
    if (edge) {
      const message = `tests reach containers through published ports on ${edge.host}: Docker's userland proxy is in the path, so a client's TCP reset reaches the submission as a plain close`;
      notice(message);
      this.notices.push(message);
    }
    this.context = {
      ...base,
      runtime: 'docker',
      docker: {
        image: tag,
        network,
        labels,
        impairImage: impair.tag,
        runtimeImage: runtimeImage.tag,
        ...(peers.length > 0 && { peerImages: Object.fromEntries(peers) }),
        ...(edge ? { edge } : {}),
      },
    };
    this.backend = backend;
    this.runtime = { kind: 'docker', version: engine.serverVersion, isolated: true, endpoints };
    const calibrator = new DockerCalibrator({
      engine,
      network,
      runtimeImage: runtimeImage.tag,
      impairImage: impair.tag,
      labels,
      backend,
      seed: options.seed,
      ...(edge ? { edge } : {}),
    });
    this.calibrator = calibrator;
    // A step like the start's: none begins once removal has, and removal waits for one under way.
    this.calibrate = (link) => this.at(`calibrate ${link.name}`, () => calibrator.calibrate(link));
  }

  dispose(): Promise<void> {
    this.disposing ??= this.disposeInOrder();
    return this.disposing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  private async disposeInOrder(): Promise<void> {
    // Nothing below may let the process exit half-way (see Lifetime.dispose).
    const keepAlive = setInterval(() => {}, 1_000);
    try {
      await this.removeInOrder();
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async removeInOrder(): Promise<void> {
    const attempt = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        notice(`cleanup: could not ${what}: ${(error as Error).message}`);
        return false;
      }
      return true;
    };
    // Test runs and start steps still under way may have a create in flight: removal then looks twice.
    const settled = this.suites.size === 0 && this.steps.size === 0;
    await attempt('stop the tests', () => Promise.all([...this.suites].map((close) => close())));
    if (this.calibrator) await attempt('stop the calibration probe', () => this.calibrator!.close());
    // A create already sent (an image build, a network) lands before we remove around it.
    if (this.steps.size > 0) await Promise.race([Promise.all(this.steps), sleep(SETTLE_MS, undefined, { ref: false })]);
    let removed = true;
    if (this.engine) {
      const engine = this.engine;
      removed = await attempt(`remove run ${this.id}`, () => engine.removeRun(this.id, settled));
      // The host opens to the run's bridge again only once nothing of the run is left on it.
      if (removed && this.guard) {
        const guard = this.guard;
        removed = await attempt("restore the host's firewall", () => unguardHost(engine, guard));
      }
    }
    if (this.workDir) await attempt('remove the work folder', () => rm(this.workDir!, { recursive: true, force: true }));
    // When something could not be removed, the reaper (a process of its own) tries once more.
    if (removed) this.reaper?.release();
    else this.reaper?.handOver();
  }
}

/** Docker when asked for or reachable; the local runtime otherwise (own code only), and says so. */
async function connectRuntime(options: StartRunOptions, notices: string[]): Promise<DockerEngine | undefined> {
  if (options.runtime === 'local') return undefined;
  const sandboxedOnly = options.runtime === 'docker' || options.foreign;
  try {
    return await DockerEngine.connect(sandboxedOnly ? 10_000 : 5_000);
  } catch (error) {
    if (!(error instanceof RuntimeUnavailableError)) throw error;
    if (options.runtime === 'docker') throw error;
    if (options.foreign) {
      throw new RuntimeUnavailableError(
        `${error.message}. --submission names a folder that may hold someone else's code, which netkata runs only sandboxed, in a container: start a Docker engine, or pass --runtime local to run it on this machine without isolation if you trust it`,
        { cause: error },
      );
    }
    const message = `${error.message}; grading on the local runtime instead: no isolation and no packet-level impairments (they need Docker)`;
    notice(message);
    notices.push(message);
    return undefined;
  }
}

import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Exercise } from '../catalog/catalog.ts';
import { bundleSubmission } from '../build/bundle.ts';
import { buildSubmissionImage } from '../build/submission-image.ts';
import type { Submission } from '../build/submission.ts';
import { ConfigError, RuntimeUnavailableError } from '../errors.ts';
import { ensureImage, type BuildMode } from '../images/ensure-image.ts';
import type { ImageDefinition } from '../images/image-spec.ts';
import { logger, notice } from '../log.ts';
import type { RuntimeReport } from '../report/grade-report.ts';
import type { RunContext } from '../runtime/context.ts';
import { DockerEngine } from '../runtime/docker/engine.ts';
import { runLabels } from '../runtime/docker/labels.ts';
import type { Teardown } from '../teardown.ts';
import type { BackendChoice, ImpairmentBackend } from '../impairment/backend-commands.ts';
import type { Calibration } from '../impairment/calibrate.ts';
import type { LinkSpec } from '../impairment/profile.ts';
import { calibrateRelay } from '../impairment/relay/calibrate-relay.ts';
import { calibrateOnDocker } from '../runtime/docker/calibration-probe.ts';
import { chooseBackend, detectBackends } from '../runtime/docker/detect-backend.ts';
import { guardHost } from '../runtime/docker/host-guard.ts';
import { chooseEndpointMode, startEdge } from '../runtime/docker/edge.ts';

const log = logger('run');

export type RuntimeChoice = 'auto' | 'docker' | 'local';

export interface PrepareOptions {
  readonly exercise: Exercise;
  readonly submission: Submission;
  readonly runtime: RuntimeChoice;
  readonly impairment: BackendChoice;
  readonly seed: number;
  readonly buildMode: BuildMode;
  readonly teardown: Teardown;
}

export interface PreparedRun {
  /** Everything but the link, which is chosen per group of test files. */
  readonly context: Omit<RunContext, 'impairment'>;
  readonly backend: ImpairmentBackend;
  readonly runtime: RuntimeReport;
  readonly notices: string[];
  /** Measures a profile on this run's backend before tests run under it. */
  calibrate(link: LinkSpec): Promise<Calibration>;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Picks the runtime: Docker when asked for or reachable; the local runtime otherwise, and says so. */
async function chooseRuntime(choice: RuntimeChoice, notices: string[]): Promise<DockerEngine | undefined> {
  if (choice === 'local') return undefined;
  try {
    return await DockerEngine.connect(choice === 'auto' ? 5_000 : 10_000);
  } catch (error) {
    if (choice === 'docker' || !(error instanceof RuntimeUnavailableError)) throw error;
    const message = `${error.message}; grading on the local runtime instead: no isolation and no packet-level impairments (they need Docker)`;
    notice(message);
    notices.push(message);
    return undefined;
  }
}

/**
 * Everything before the tests: the runtime, the submission built (a syntax error or a failing
 * Dockerfile surfaces here as SubmissionBuildError, the learner's failure), images, the run
 * network. Each resource registers its own cleanup on `teardown`.
 */
export async function prepareRun(options: PrepareOptions): Promise<PreparedRun> {
  const { exercise, submission, teardown } = options;
  const notices: string[] = [];
  const runId = newRunId();
  const engine = await chooseRuntime(options.runtime, notices);
  const workDir = await mkdtemp(path.join(os.tmpdir(), `netkata-${runId}-`));
  teardown.add(() => rm(workDir, { recursive: true, force: true }));
  const bundle = submission.kind === 'typescript' ? await bundleSubmission(submission.entry, workDir) : undefined;
  const base = { runId, exercise: { id: exercise.manifest.id, kind: exercise.manifest.kind, transport: exercise.manifest.transport }, limits: exercise.manifest.limits };

  if (!engine) {
    if (!bundle) throw new ConfigError(`${submission.dir} is a Dockerfile submission; it needs a Docker engine (--runtime docker)`);
    if (options.impairment !== 'auto') throw new ConfigError(`--impairment ${options.impairment} needs a Docker engine; the local runtime impairs through its relay`);
    return {
      context: { ...base, runtime: 'local', local: { command: [process.execPath, bundle], cwd: workDir } },
      backend: 'relay',
      runtime: { kind: 'local', version: process.version, isolated: false },
      notices,
      calibrate: (link) => calibrateRelay(link, options.seed),
    };
  }

  const labels = runLabels(runId);
  teardown.add(() => engine.removeRun(runId));
  const swept = await engine.sweepStale();
  if (swept > 0) log(`Removed ${swept} stale runs`);

  const images: Record<string, ImageDefinition> = { runtime: await ensureImage(engine, 'runtime', options.buildMode) };
  if (submission.kind === 'dockerfile' && /runtime-c|RUNTIME_C/.test(await readFile(submission.dockerfile, 'utf8'))) {
    images['runtime-c'] = await ensureImage(engine, 'runtime-c', options.buildMode);
  }
  const tag = `netkata/submission:${runId}`;
  await buildSubmissionImage({ engine, submission, bundle, workDir, images, tag, labels });
  const network = await engine.createRunNetwork(runId);
  const impair = await ensureImage(engine, 'impair', options.buildMode);
  teardown.add(await guardHost(engine, impair.tag, DockerEngine.bridgeName(runId), runId));
  const backend = chooseBackend(options.impairment, await detectBackends(engine, impair.tag));
  const endpoints = await chooseEndpointMode(engine);
  const edge = endpoints === 'published' ? await startEdge(engine, runId, network, images.runtime!.tag) : undefined;
  if (edge) {
    const message = `tests reach containers through published ports on ${edge.host}: Docker's userland proxy is in the path, so a client's TCP reset reaches the submission as a plain close`;
    notice(message);
    notices.push(message);
  }
  return {
    context: { ...base, runtime: 'docker', docker: { image: tag, network, labels, impairImage: impair.tag, runtimeImage: images.runtime!.tag, ...(edge ? { edge } : {}) } },
    backend,
    runtime: { kind: 'docker', version: engine.serverVersion, isolated: true, endpoints },
    notices,
    calibrate: (link) =>
      calibrateOnDocker({ engine, network, runtimeImage: images.runtime!.tag, impairImage: impair.tag, labels, backend, seed: options.seed, ...(edge ? { edge } : {}) }, link),
  };
}

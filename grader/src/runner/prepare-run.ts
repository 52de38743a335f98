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

const log = logger('run');

export type RuntimeChoice = 'auto' | 'docker' | 'local';

export interface PrepareOptions {
  readonly exercise: Exercise;
  readonly submission: Submission;
  readonly runtime: RuntimeChoice;
  readonly buildMode: BuildMode;
  readonly teardown: Teardown;
}

export interface PreparedRun {
  readonly context: RunContext;
  readonly runtime: RuntimeReport;
  readonly notices: string[];
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
    return {
      context: { ...base, runtime: 'local', local: { command: [process.execPath, bundle], cwd: workDir } },
      runtime: { kind: 'local', version: process.version, isolated: false, impairment: 'none' },
      notices,
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
  return {
    context: { ...base, runtime: 'docker', docker: { image: tag, network, labels } },
    runtime: { kind: 'docker', version: engine.serverVersion, isolated: true, impairment: 'none' },
    notices,
  };
}

import { readFile } from 'node:fs/promises';
import { SubmissionBuildError } from '../errors.ts';
import type { ImageDefinition } from '../images/image-spec.ts';
import { BuildFailure, type BuildLimits, type DockerEngine } from '../runtime/docker/engine.ts';
import { SANDBOX_USER } from '../runtime/docker/docker-runtime.ts';
import { packBuildContext } from './build-context.ts';
import { checkDockerfile } from './dockerfile-policy.ts';
import type { Submission } from './submission.ts';

/** A Dockerfile submission's build, as every learner gets it (NETKATA_BUILD_TIMEOUT_MS shortens the time for tests). */
const DEFAULT_BUILD_LIMITS = {
  memoryBytes: 1024 * 1024 * 1024,
  cpus: 1,
  timeoutMs: 120_000,
  pidsLimit: 256,
  maxAddedBytes: 256 * 1024 * 1024,
} as const;

export type SubmissionBuildLimits = Pick<BuildLimits, 'memoryBytes' | 'cpus' | 'timeoutMs' | 'pidsLimit' | 'maxAddedBytes'>;

export interface SubmissionImageOptions {
  readonly engine: DockerEngine;
  readonly submission: Submission;
  /** The bundle for TypeScript submissions. */
  readonly bundle?: string;
  readonly workDir: string;
  readonly images: Readonly<Record<string, ImageDefinition>>;
  readonly tag: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Base images a Dockerfile may build FROM besides the grader's (an instructor's `--allow-base`). */
  readonly allowBases?: readonly string[];
  /** Overrides of DEFAULT_BUILD_LIMITS. */
  readonly buildLimits?: Partial<SubmissionBuildLimits>;
}

function buildLimits(overrides: Partial<SubmissionBuildLimits> = {}): SubmissionBuildLimits {
  const fromEnv = Number(process.env.NETKATA_BUILD_TIMEOUT_MS);
  return { ...DEFAULT_BUILD_LIMITS, ...(Number.isFinite(fromEnv) && fromEnv > 0 ? { timeoutMs: fromEnv } : {}), ...overrides };
}

/**
 * The image a submission runs in. TypeScript: the bundle on top of netkata/runtime. Dockerfile:
 * the learner's own build, checked against the base-image policy first, then built from the
 * folder's regular files only, with NETKATA_RUNTIME(_C) build args naming the grader's images, no
 * network, and limits (memory, CPU, tasks, time, size).
 */
export async function buildSubmissionImage(options: SubmissionImageOptions): Promise<void> {
  const { engine, submission } = options;
  const runtime = options.images.runtime!;
  if (submission.kind === 'typescript') {
    // The bundle, root's and read-only, on the runtime image; an ENTRYPOINT, so that a client's
    // arguments (the container's command) follow the program.
    await engine.commitImage({
      base: runtime.tag,
      files: { 'app/main.mjs': await readFile(options.bundle!) },
      tag: options.tag,
      labels: options.labels,
      changes: [`USER ${SANDBOX_USER}`, 'ENTRYPOINT ["node", "/app/main.mjs"]', 'CMD []'],
    });
    return;
  }
  const context = await packBuildContext(submission.dir);
  if (!context.dockerfile) {
    throw new SubmissionBuildError('your Dockerfile cannot be read', 'Dockerfile must be a regular file of your submission folder (not a symbolic link)');
  }
  const buildArgs: Record<string, string> = {};
  for (const image of Object.values(options.images)) {
    buildArgs[`NETKATA_${image.name.toUpperCase().replace(/-/g, '_')}`] = image.tag;
  }
  const policy = checkDockerfile(context.dockerfile.toString('utf8'), { buildArgs, ...(options.allowBases && { allowBases: options.allowBases }) });
  if (policy.violations.length > 0) throw new SubmissionBuildError('your Dockerfile is not allowed', policy.violations.join('\n'));
  const limits = buildLimits(options.buildLimits);
  try {
    await engine.build({
      context: context.tar,
      tag: options.tag,
      labels: options.labels,
      buildArgs,
      networkMode: 'none',
      limits: { ...limits, jailImage: runtime.tag, ...(policy.finalBase && { baseImage: policy.finalBase }) },
    });
  } catch (error) {
    if (!(error instanceof BuildFailure)) throw error;
    const left = context.skipped.length > 0 ? `\n(not in the build context, as they are not regular files: ${context.skipped.slice(0, 10).join(', ')})` : '';
    const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
    const what = {
      failed: 'your Dockerfile does not build',
      timeout: `your Dockerfile did not build within ${limits.timeoutMs / 1000} s (the build's time limit)`,
      'too-large': `your image is too large (it may add at most ${mib(limits.maxAddedBytes!)} to its base)`,
    }[error.reason];
    throw new SubmissionBuildError(what, `${error.message}\n${error.output}${left}`.trim());
  }
}

import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SubmissionBuildError } from '../errors.ts';
import type { ImageDefinition } from '../images/image-spec.ts';
import { BuildFailure, type DockerEngine } from '../runtime/docker/engine.ts';
import { SANDBOX_USER } from '../runtime/docker/docker-runtime.ts';
import type { Submission } from './submission.ts';

export interface SubmissionImageOptions {
  readonly engine: DockerEngine;
  readonly submission: Submission;
  /** The bundle for TypeScript submissions. */
  readonly bundle?: string;
  readonly workDir: string;
  readonly images: Readonly<Record<string, ImageDefinition>>;
  readonly tag: string;
  readonly labels: Readonly<Record<string, string>>;
}

const SKIPPED = /(^|\/)(node_modules|\.git)(\/|$)/;

/**
 * The image a submission runs in. TypeScript: the bundle on top of netkata/runtime. Dockerfile:
 * the learner's own build, with NETKATA_RUNTIME(_C) build args naming the grader's images and
 * no network during the build.
 */
export async function buildSubmissionImage(options: SubmissionImageOptions): Promise<void> {
  const { engine, submission } = options;
  const runtime = options.images.runtime!;
  if (submission.kind === 'typescript') {
    // An ENTRYPOINT, so that a client's arguments (the container's command) follow the program.
    await writeFile(
      path.join(options.workDir, 'Dockerfile'),
      [`FROM ${runtime.tag}`, 'COPY main.mjs /app/main.mjs', `USER ${SANDBOX_USER}`, 'ENTRYPOINT ["node", "/app/main.mjs"]', 'CMD []', ''].join('\n'),
    );
    await engine.build({
      contextDir: options.workDir,
      files: ['Dockerfile', path.basename(options.bundle!)],
      tag: options.tag,
      labels: options.labels,
      networkMode: 'none',
    });
    return;
  }
  const files = (await readdir(submission.dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(submission.dir, path.join(entry.parentPath, entry.name)))
    .filter((file) => !SKIPPED.test(file));
  const buildArgs: Record<string, string> = {};
  for (const image of Object.values(options.images)) {
    buildArgs[`NETKATA_${image.name.toUpperCase().replace(/-/g, '_')}`] = image.tag;
  }
  try {
    await engine.build({
      contextDir: submission.dir,
      files,
      tag: options.tag,
      labels: options.labels,
      buildArgs,
      networkMode: 'none',
    });
  } catch (error) {
    if (error instanceof BuildFailure) throw new SubmissionBuildError('your Dockerfile does not build', `${error.message}\n${error.output}`.trim());
    throw error;
  }
}

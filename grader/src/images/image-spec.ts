import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, formatIssues } from '../errors.ts';
import { containersDir } from '../paths.ts';

/** What the offline path needs to build the same image its Dockerfile describes. */
const imageSpecSchema = z.strictObject({
  description: z.string(),
  debian: z.strictObject({
    suite: z.string().default('bookworm'),
    packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9.+-]*$/)).default([]),
  }),
  node: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'an exact Node version, e.g. 22.23.3')
    .optional(),
  workdir: z.string().default('/'),
  user: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
  cmd: z.array(z.string()).optional(),
  /** Files of the image's folder copied into the root: `{ "netkata-link": "/usr/local/bin/netkata-link" }`. */
  files: z.record(z.string(), z.string().startsWith('/')).default({}),
  /** Commands run inside the root (chroot) after the files are in, as a Dockerfile's RUN lines. */
  run: z.array(z.array(z.string()).min(1)).default([]),
});

type ImageSpec = z.infer<typeof imageSpecSchema>;

export interface ImageDefinition {
  readonly name: string;
  readonly dir: string;
  readonly spec: ImageSpec;
  /** `netkata/runtime:3f2a9c1b04de`: the hash of every file in the folder, so unchanged images are never rebuilt. */
  readonly tag: string;
  /** `netkata/runtime:latest`, what Dockerfile submissions write in FROM. */
  readonly latestTag: string;
}

export const IMAGE_NAMES = ['runtime', 'runtime-c', 'impair', 'http-peer'] as const;

export async function loadImage(name: string): Promise<ImageDefinition> {
  const dir = path.join(containersDir, name);
  let files: string[];
  try {
    files = (await readdir(dir)).sort();
  } catch {
    throw new ConfigError(`no image "${name}" under ${containersDir}`);
  }
  const hash = createHash('sha256');
  for (const file of files) {
    hash
      .update(`${file}\0`)
      .update(await readFile(path.join(dir, file)))
      .update('\0');
  }
  const parsed = imageSpecSchema.safeParse(JSON.parse(await readFile(path.join(dir, 'image.json'), 'utf8')));
  if (!parsed.success) throw new ConfigError(`invalid ${name}/image.json: ${formatIssues(parsed.error)}`);
  return {
    name,
    dir,
    spec: parsed.data,
    tag: `netkata/${name}:${hash.digest('hex').slice(0, 12)}`,
    latestTag: `netkata/${name}:latest`,
  };
}

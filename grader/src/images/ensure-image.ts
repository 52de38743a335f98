import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ImageBuildError } from '../errors.ts';
import { notice } from '../log.ts';
import type { DockerEngine } from '../runtime/docker/engine.ts';
import { loadImage, type ImageDefinition } from './image-spec.ts';
import { buildOffline } from './offline-build.ts';

export type BuildMode = 'auto' | 'online' | 'offline';

async function baseImageOf(image: ImageDefinition): Promise<string> {
  const dockerfile = await readFile(path.join(image.dir, 'Dockerfile'), 'utf8');
  const from = /^FROM\s+(\S+)/im.exec(dockerfile)?.[1];
  if (!from) throw new ImageBuildError(`${image.name}/Dockerfile has no FROM line`);
  return from;
}

/**
 * Makes sure the image for `name` exists in its current version (tag = hash of its folder),
 * building it once if not: from its Dockerfile when the base image can be had, otherwise (or
 * with mode 'offline') from debootstrap and the npm registry.
 */
export async function ensureImage(engine: DockerEngine, name: string, mode: BuildMode = 'auto', force = false): Promise<ImageDefinition> {
  const image = await loadImage(name);
  if (!force && (await engine.imageExists(image.tag))) {
    await engine.tagImage(image.tag, image.latestTag);
    return image;
  }
  const started = Date.now();
  const progress = (step: string) => notice(`building image ${image.tag}: ${step}...`);
  let online = mode === 'online';
  if (mode === 'auto') {
    const base = await baseImageOf(image);
    online = (await engine.imageExists(base)) || (await engine.tryPull(base));
    if (!online) notice(`no registry answered for ${base}; building ${image.tag} offline`);
  }
  try {
    if (online) {
      progress('docker build');
      await engine.build({ contextDir: image.dir, files: await readdir(image.dir), tag: image.tag, labels: { 'netkata.image': image.name } });
    } else {
      await buildOffline(image, progress);
    }
  } catch (error) {
    if (error instanceof ImageBuildError) throw error;
    throw new ImageBuildError(`cannot build image ${image.tag}: ${(error as Error).message}`, { cause: error });
  }
  await engine.tagImage(image.tag, image.latestTag);
  notice(`built image ${image.tag} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return image;
}

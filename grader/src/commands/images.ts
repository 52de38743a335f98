import { ensureImage, type BuildMode } from '../images/ensure-image.ts';
import { IMAGE_NAMES } from '../images/image-spec.ts';
import { DockerEngine } from '../runtime/docker/engine.ts';

export interface ImagesOptions {
  readonly names: readonly string[];
  readonly buildMode: BuildMode;
  readonly force: boolean;
}

/** `netkata images build [--offline] [NAME...]`: builds grader images ahead of a run (CI, classrooms). */
export async function buildImages(options: ImagesOptions): Promise<void> {
  const engine = await DockerEngine.connect();
  const names = options.names.length > 0 ? options.names : IMAGE_NAMES;
  for (const name of names) {
    const image = await ensureImage(engine, name, options.buildMode, options.force);
    process.stdout.write(`${image.tag}\n`);
  }
}

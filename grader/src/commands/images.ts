import { ensureImage, type BuildMode } from '../images/ensure-image.ts';
import { IMAGE_NAMES } from '../images/image-spec.ts';
import { DockerEngine } from '../runtime/docker/engine.ts';
import { allOrFirstError } from '../settle.ts';

export interface ImagesOptions {
  readonly names: readonly string[];
  readonly buildMode: BuildMode;
  readonly force: boolean;
}

/** `netkata images build [--offline] [NAME...]`: builds grader images ahead of a run (CI, classrooms). */
export async function buildImages(options: ImagesOptions): Promise<void> {
  const engine = await DockerEngine.connect();
  const names = options.names.length > 0 ? options.names : IMAGE_NAMES;
  // At once: an offline build is half downloads (debootstrap, npm) and half unpacking, so on two
  // cores the three take about as long as the largest alone would twice over, not the sum.
  // Every build ends before a failure is reported: none is left importing behind it.
  const images = await allOrFirstError(names.map((name) => ensureImage(engine, name, options.buildMode, options.force)));
  for (const image of images) process.stdout.write(`${image.tag}\n`);
}

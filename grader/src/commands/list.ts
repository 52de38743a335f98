import { listExercises } from '../catalog/catalog.ts';

/** `netkata list`: the exercises, in order. */
export async function list(json: boolean): Promise<void> {
  const exercises = await listExercises();
  if (json) {
    process.stdout.write(`${JSON.stringify(exercises.map((e) => ({ ...e.manifest, folder: e.folder })), null, 2)}\n`);
    return;
  }
  for (const { folder, manifest } of exercises) {
    const points = manifest.stages.reduce((sum, s) => sum + s.points, 0);
    process.stdout.write(`${folder.padEnd(22)} ${manifest.title.padEnd(28)} ${manifest.difficulty.padEnd(7)} ${manifest.stages.length} stages, ${points} points\n`);
  }
}

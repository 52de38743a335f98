import { listExercises } from '../catalog/catalog.ts';
import { loadProgress } from '../learner/progress-state.ts';
import { statusOf } from './home.ts';

/** `netkata list`: the exercises, in order, with the learner's status of each. */
export async function list(json: boolean): Promise<void> {
  const [exercises, progress] = await Promise.all([listExercises(), loadProgress()]);
  if (json) {
    process.stdout.write(`${JSON.stringify(exercises.map((e) => ({ ...e.manifest, folder: e.folder, progress: progress.exercises[e.manifest.id] ?? null })), null, 2)}\n`);
    return;
  }
  for (const exercise of exercises) {
    const { folder, manifest } = exercise;
    const points = manifest.stages.reduce((sum, s) => sum + s.points, 0);
    process.stdout.write(`${folder.padEnd(22)} ${manifest.title.padEnd(28)} ${manifest.difficulty.padEnd(7)} ${manifest.stages.length} stages, ${String(points).padStart(3)} points  ${statusOf(exercise, progress.exercises[manifest.id])}\n`);
  }
}

import { listExercises } from '../catalog/catalog.ts';
import { loadProgress } from '../learner/progress-state.ts';
import { visibleLine } from '../sanitize.ts';
import { columns, statusOf } from './overview.ts';

/** `netkata list`: the exercises, in order, with the learner's status of each (`--json`: with the progress entries). */
export async function list(json: boolean): Promise<void> {
  const [exercises, progress] = await Promise.all([listExercises(), loadProgress()]);
  if (json) {
    process.stdout.write(
      `${JSON.stringify(
        exercises.map((e) => ({ ...e.manifest, folder: e.folder, progress: progress.exercises[e.manifest.id] ?? null })),
        null,
        2,
      )}\n`,
    );
    return;
  }
  const rows = exercises.map(({ folder, manifest }) => {
    const points = manifest.stages.reduce((sum, s) => sum + s.points, 0);
    return [
      folder,
      visibleLine(manifest.title, 40),
      manifest.difficulty,
      `${manifest.stages.length} stages, ${String(points).padStart(3)} points`,
      statusOf(
        exercises.find((e) => e.folder === folder)!,
        progress.exercises[manifest.id],
      ),
    ];
  });
  process.stdout.write(`${columns(rows).join('\n')}\n`);
}

import path from 'node:path';
import { listExercises, type Exercise } from '../catalog/catalog.ts';
import { loadProgress, type Progress } from '../learner/progress-state.ts';
import { visibleLine } from '../report/sanitize.ts';

type Entry = Progress['exercises'][string] | undefined;

/** One exercise's status in a few words: "done", "grade 40/120, stages 1-2 of 6", "tests pass", "not started". */
export function statusOf(exercise: Exercise, entry: Entry): string {
  const stages = exercise.manifest.stages.length;
  if (entry?.completed) return `done (${entry.grade?.best.points ?? '?'}/${entry.grade?.best.maxPoints ?? '?'})`;
  if (entry?.grade) {
    const best = entry.grade.best;
    return `grade best ${best.points}/${best.maxPoints}, ${best.stagesPassed.length} of ${stages} stages`;
  }
  if (entry?.test) return entry.test.last.status === 'pass' ? 'visible tests pass' : `visible tests ${entry.test.last.points}/${entry.test.last.maxPoints}`;
  return 'not started';
}

/** The exact next command for the first exercise not done. */
export function nextCommand(exercises: readonly Exercise[], progress: Progress): string {
  const next = exercises.find((e) => !progress.exercises[e.manifest.id]?.completed);
  if (!next) return 'every exercise is done: try `npx netkata grade <exercise> --profile chaos`, or write your own suite with --suite';
  const id = next.manifest.id;
  const entry = progress.exercises[id];
  const folder = path.relative(process.cwd(), next.exerciseDir) || '.';
  if (!entry?.test && !entry?.grade) return `read ${folder}/README.md, edit ${folder}/src/main.ts, then run  npx netkata watch ${id}`;
  if (entry.grade) {
    const failing = next.manifest.stages.find((s) => !entry.grade!.last.stagesPassed.includes(s.stage));
    return `make stage ${failing?.stage ?? '?'} of ${id} pass (npx netkata hint ${id}), then run  npx netkata grade ${id}`;
  }
  return entry.test?.last.status === 'pass' ? `the visible tests pass: run the hidden suite,  npx netkata grade ${id}` : `keep going on ${folder}/src/main.ts:  npx netkata watch ${id}`;
}

/** `npx netkata` with no arguments: every exercise with its status, and what to run next. */
export async function home(): Promise<string> {
  const [exercises, progress] = await Promise.all([listExercises(), loadProgress()]);
  const lines = ['netkata: network programming katas behind a real, hostile network', ''];
  for (const exercise of exercises) {
    const entry = progress.exercises[exercise.manifest.id];
    const mark = entry?.completed ? '✓' : entry?.grade || entry?.test ? '·' : ' ';
    lines.push(`  ${mark} ${exercise.folder.padEnd(18)} ${visibleLine(exercise.manifest.title).padEnd(30)} ${statusOf(exercise, entry)}`);
  }
  lines.push('', `next: ${nextCommand(exercises, progress)}`, '', 'npx netkata --help lists every command.', '');
  return lines.join('\n');
}

import path from 'node:path';
import { listExercises, type Exercise } from '../catalog/catalog.ts';
import { loadProgress, type Progress, type ProgressResult } from '../learner/progress-state.ts';
import { visibleLine } from '../sanitize.ts';

type Entry = Progress['exercises'][string] | undefined;

/** The visible tests' column: "not run", "pass", or "2/6 stages" of the last run. */
function visibleStatus(entry: Entry): string {
  const last = entry?.test?.last;
  if (!last) return 'not run';
  return last.status === 'pass' ? 'pass' : `${last.stagesPassed.length}/${last.stageCount} stages`;
}

const points = (r: ProgressResult) => `${r.points}/${r.maxPoints}`;

/** The hidden grade's column: "not run", "done 120/120", or "2/6 stages, 30/120" of the best grade (and the last, when worse). */
function gradeStatus(exercise: Exercise, entry: Entry): string {
  const grade = entry?.grade;
  if (entry?.completed) return `done ${grade ? points(grade.best) : ''}`.trimEnd();
  if (!grade) return 'not run';
  const best = `${grade.best.stagesPassed.length}/${exercise.manifest.stages.length} stages, ${points(grade.best)}`;
  const same = grade.last.points === grade.best.points && grade.last.stagesPassed.length === grade.best.stagesPassed.length;
  return same ? best : `${best} (last ${points(grade.last)})`;
}

/** One exercise's status in a few words, for `list`: "done 120/120", "grade 2/6 stages, 30/120", "visible tests pass", "not started". */
export function statusOf(exercise: Exercise, entry: Entry): string {
  if (entry?.completed || entry?.grade) return `${entry.completed ? '' : 'grade '}${gradeStatus(exercise, entry)}`;
  if (entry?.test) return `visible tests ${visibleStatus(entry)}`;
  return 'not started';
}

/** The exact next command for the first exercise not done. */
function nextCommand(exercises: readonly Exercise[], progress: Progress): string {
  const next = exercises.find((e) => !progress.exercises[e.manifest.id]?.completed);
  if (!next) return "every exercise is done: try  npx netkata grade <exercise> --profile chaos  or an instructor's suite with --suite";
  const id = next.manifest.id;
  const entry = progress.exercises[id];
  const folder = path.relative(process.cwd(), next.exerciseDir) || '.';
  if (!entry?.test && !entry?.grade) return `read ${folder}/README.md, edit ${folder}/src/main.ts, then run  npx netkata watch ${id}`;
  if (entry.grade) {
    const failing = next.manifest.stages.find((s) => !entry.grade!.last.stagesPassed.includes(s.stage));
    return `make stage ${failing?.stage ?? '?'} of ${id} pass (npx netkata hint ${id}), then run  npx netkata grade ${id}`;
  }
  return entry.test?.last.status === 'pass'
    ? `the visible tests pass: run the hidden suite,  npx netkata grade ${id}`
    : `keep going on ${folder}/src/main.ts:  npx netkata watch ${id}`;
}

/** Rows as columns padded to their widest cell (a long title must not push the others out of line). */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + [...cell].length - cell.length)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * `npx netkata` with no arguments: every exercise with its visible and hidden status, and what
 * to run next. Colour only for a terminal (NO_COLOR respected); plain text otherwise.
 */
export async function overview(options: { color: boolean }): Promise<string> {
  const [exercises, progress] = await Promise.all([listExercises(), loadProgress()]);
  const paint = (code: number, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const rows = [[' ', 'exercise', 'title', 'visible tests', 'hidden grade']];
  for (const exercise of exercises) {
    const entry = progress.exercises[exercise.manifest.id];
    const mark = entry?.completed ? '✓' : entry?.grade || entry?.test ? '·' : ' ';
    rows.push([mark, exercise.folder, visibleLine(exercise.manifest.title, 40), visibleStatus(entry), gradeStatus(exercise, entry)]);
  }
  const table = columns(rows).map((line, i) => {
    if (i === 0) return `  ${paint(2, line)}`;
    return `  ${line.startsWith('✓') ? paint(32, line) : line}`;
  });
  const done = exercises.filter((e) => progress.exercises[e.manifest.id]?.completed).length;
  return [
    'netkata: network programming katas behind a real, hostile network',
    '',
    ...table,
    '',
    `${done} of ${exercises.length} done`,
    `next: ${paint(1, nextCommand(exercises, progress))}`,
    '',
    'npx netkata --help lists every command.',
    '',
  ].join('\n');
}

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { findExercise, requireSolution } from '../catalog/catalog.ts';
import { ConfigError } from '../errors.ts';
import { loadProgress } from '../learner/progress-state.ts';
import { notice } from '../log.ts';

/** Files of a folder, relative, sorted. */
async function filesOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/**
 * `netkata solution <exercise>`: the reference, once the learner's own folder has passed the
 * hidden suite (or with `--force`, said on stderr). Returns the text and the exit code.
 */
export async function solution(name: string, force: boolean): Promise<{ text: string; code: number }> {
  const exercise = await findExercise(name);
  const id = exercise.manifest.id;
  // First: in a learner's copy there is nothing to open, however far the learner got.
  const solutionDir = await requireSolution(exercise);
  const done = (await loadProgress()).exercises[id]?.completed === true;
  if (!done && !force) {
    return {
      text: `the reference solution of ${id} opens once your exercise passes its hidden suite: run  npx netkata grade ${id}  until it does (npx netkata hint ${id} helps), or pass --force to read it now\n`,
      code: 1,
    };
  }
  if (!done) notice(`showing the reference of ${id} before your exercise passed (--force): reading it first teaches less than getting there`);
  const files = await filesOf(solutionDir).catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(`the reference of ${id} cannot be read (${solutionDir}: ${error.code ?? error.message}); a fresh clone of netkata has it`);
  });
  const main = path.join(solutionDir, 'src', 'main.ts');
  const lines = [`reference solution of ${id}: ${path.relative(process.cwd(), solutionDir)}/`, ...files.map((f) => `  ${f}`), ''];
  if (files.includes(path.join('src', 'main.ts'))) lines.push(`--- src/main.ts`, await readFile(main, 'utf8'));
  return { text: `${lines.join('\n')}\n`, code: 0 };
}

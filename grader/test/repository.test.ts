// The kata repository's own promises: mirrored trees, every file an exercise needs, starters
// that compile and carry TODOs. (That starters fail and solutions pass is graded for real in
// echo-server-docker.test.ts and local-runtime.test.ts.)
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { bundleSubmission } from '../src/build/bundle.ts';
import { listExercises } from '../src/catalog/catalog.ts';
import { exercisesDir, solutionsDir, suitesDir } from '../src/paths.ts';

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe('repository', async () => {
  const exercises = await listExercises();

  test('exercises, solutions and suites mirror each other, with no orphans', async () => {
    const folders = exercises.map((e) => e.folder).sort();
    expect((await readdir(exercisesDir)).sort()).toEqual(folders);
    expect((await readdir(solutionsDir)).sort()).toEqual(folders);
    expect((await readdir(suitesDir)).sort()).toEqual(exercises.map((e) => e.manifest.id).sort());
  });

  test.each(exercises.map((e) => [e.folder, e] as const))('%s has its README, starter, visible tests, solution and hidden suite', async (_, exercise) => {
    for (const file of [
      path.join(exercise.exerciseDir, 'README.md'),
      path.join(exercise.exerciseDir, 'src', 'main.ts'),
      path.join(exercise.solutionDir, 'src', 'main.ts'),
    ]) {
      expect(await exists(file), file).toBe(true);
    }
    expect((await readdir(exercise.visibleTestDir)).some((f) => f.endsWith('.test.ts'))).toBe(true);
    expect((await readdir(exercise.suiteDir)).some((f) => f.endsWith('.test.ts'))).toBe(true);
    const readme = await readFile(path.join(exercise.exerciseDir, 'README.md'), 'utf8');
    expect(readme).toContain(`netkata grade ${exercise.manifest.id}`);
  });

  test.each(exercises.map((e) => [e.folder, e] as const))('%s: starter and solution compile; the starter has TODO markers', async (_, exercise) => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'netkata-compile-'));
    try {
      await bundleSubmission(path.join(exercise.exerciseDir, 'src', 'main.ts'), out);
      await bundleSubmission(path.join(exercise.solutionDir, 'src', 'main.ts'), out);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    expect(await readFile(path.join(exercise.exerciseDir, 'src', 'main.ts'), 'utf8')).toMatch(/\/\/ TODO/);
  });
});

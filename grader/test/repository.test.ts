// The kata repository's own promises: mirrored trees, every file an exercise needs, starters
// that compile and carry TODOs, fixtures that declare what they prove. (That starters fail,
// solutions pass and fixtures do what they claim is graded for real in exercise-check.test.ts.)
import { access, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { bundleSubmission } from '../src/build/bundle.ts';
import { listExercises } from '../src/catalog/catalog.ts';
import { exercisesDir, repoRoot, solutionsDir, suitesDir } from '../src/paths.ts';
import { claimedFixtures } from './helpers/fixture-claims.ts';

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

  // The exercise check grades each claim; this catches a missing or mistyped one without Docker.
  test.each(exercises.map((e) => [e.manifest.id, e] as const))(
    '%s: every fixture declares what it proves, with a stage the exercise has',
    async (id, exercise) => {
      for (const { name, claim } of await claimedFixtures(id)) {
        if (claim.expect === 'fails-stage') expect(claim.stage, `${name}'s stage`).toBeLessThanOrEqual(exercise.manifest.stages.length);
        if (claim.expect === 'fails-stage' && claim.test) {
          // The named test is one of that stage's (its files are NN-*.test.ts).
          const prefix = `${String(claim.stage).padStart(2, '0')}-`;
          const files = (await readdir(exercise.suiteDir)).filter((f) => f.startsWith(prefix) && f.endsWith('.test.ts'));
          const texts = await Promise.all(files.map((f) => readFile(path.join(exercise.suiteDir, f), 'utf8')));
          expect(
            texts.some((t) => t.includes(claim.test!)),
            `${name}: a stage ${claim.stage} test named "${claim.test}"`,
          ).toBe(true);
        }
        if (claim.expect === 'proved-elsewhere') expect(await exists(path.join(repoRoot, claim.by)), `${name}: ${claim.by}`).toBe(true);
      }
    },
  );

  // Codespaces and VS Code's dev containers: an engine inside (Docker-in-Docker), set up with the README's own first command.
  test('the dev container has an engine inside and sets up as the README says', async () => {
    const devcontainer = JSON.parse(await readFile(path.join(repoRoot, '.devcontainer', 'devcontainer.json'), 'utf8'));
    expect(Object.keys(devcontainer.features)).toContain('ghcr.io/devcontainers/features/docker-in-docker:2');
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const setup = /^(npm ci) && npx netkata grade/m.exec(readme)?.[1];
    expect(setup, "the README's set-up command").toBeDefined();
    expect(devcontainer.postCreateCommand).toBe(setup);
  });
});

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { exercisesDir, repoRoot, solutionsDir, suitesDir } from '../paths.ts';
import { loadManifest, MANIFEST_FILE, type Manifest } from './manifest.ts';

/** An exercise as it lies in the repository: mirrored folders under exercises/, solutions/ and grader/suites/. */
export interface Exercise {
  readonly manifest: Manifest;
  /** `01-echo-server` */
  readonly folder: string;
  readonly exerciseDir: string;
  readonly solutionDir: string;
  readonly suiteDir: string;
  readonly visibleTestDir: string;
}

const FOLDER = /^(\d{2})-([a-z][a-z0-9-]*)$/;

export async function listExercises(): Promise<Exercise[]> {
  const folders = (await readdir(exercisesDir)).filter((f) => FOLDER.test(f)).sort();
  return Promise.all(folders.map((folder) => loadExercise(folder)));
}

async function loadExercise(folder: string): Promise<Exercise> {
  const exerciseDir = path.join(exercisesDir, folder);
  const manifest = await loadManifest(path.join(exerciseDir, MANIFEST_FILE));
  const slugFromFolder = FOLDER.exec(folder)?.[2];
  if (manifest.id !== slugFromFolder) {
    throw new ConfigError(`manifest id "${manifest.id}" does not match its folder ${folder}`);
  }
  return {
    manifest,
    folder,
    exerciseDir,
    solutionDir: path.join(solutionsDir, folder),
    suiteDir: path.join(suitesDir, manifest.id),
    visibleTestDir: path.join(exerciseDir, 'test'),
  };
}

/** Finds an exercise by id (`echo-server`), folder (`01-echo-server`) or number (`1`). */
export async function findExercise(name: string): Promise<Exercise> {
  const all = await listExercises();
  const found = all.find((e) => e.manifest.id === name || e.folder === name || Number(e.folder.slice(0, 2)) === Number(name));
  if (!found) {
    throw new ConfigError(`no exercise "${name}"; known: ${all.map((e) => e.manifest.id).join(', ')}`);
  }
  return found;
}

export async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** A path of this checkout as its README names it: `grader/suites/echo-server/`. */
const named = (dir: string) => `${path.relative(repoRoot, dir).split(path.sep).join('/')}/`;

/**
 * The exercise's hidden suite, or a plain word on where it comes from: a learner's copy of
 * netkata (`netkata export --learner`) leaves the hidden suites out, and so may any checkout
 * that lost one. Never a raw ENOENT: the learner needs to know whom to ask.
 */
export async function requireHiddenSuite(exercise: Exercise): Promise<string> {
  if (await isDirectory(exercise.suiteDir)) return exercise.suiteDir;
  const id = exercise.manifest.id;
  throw new ConfigError(
    `the hidden suite of ${id} is not in this copy of netkata (no ${named(exercise.suiteDir)}; a learner's copy leaves the hidden tests out). ` +
      `It comes from your instructor: grade with --suite DIR (their private copy of the suite), or let your instructor's CI grade what you push. ` +
      `npx netkata test ${id} runs the visible tests here.`,
  );
}

/** The exercise's reference solution, or why there is none here (a learner's copy leaves the answers out). */
export async function requireSolution(exercise: Exercise): Promise<string> {
  if (await isDirectory(exercise.solutionDir)) return exercise.solutionDir;
  throw new ConfigError(
    `the reference solution of ${exercise.manifest.id} is not part of this copy of netkata (no ${named(exercise.solutionDir)}; a learner's copy leaves the answers out): your instructor has it`,
  );
}

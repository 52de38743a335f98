import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { exercisesDir, solutionsDir, suitesDir } from '../paths.ts';
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

import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The netkata checkout this grader belongs to. */
export const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const exercisesDir = path.join(repoRoot, 'exercises');
export const solutionsDir = path.join(repoRoot, 'solutions');
export const suitesDir = path.join(repoRoot, 'grader', 'suites');
export const containersDir = path.join(repoRoot, 'containers');
export const harnessEntry = path.join(repoRoot, 'grader', 'src', 'harness', 'index.ts');

import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The netkata checkout this grader belongs to. */
export const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The learner's exercises; NETKATA_EXERCISES_DIR moves them (the project's tests reset a scratch copy, never these). */
export const exercisesDir = process.env.NETKATA_EXERCISES_DIR ? path.resolve(process.env.NETKATA_EXERCISES_DIR) : path.join(repoRoot, 'exercises');
export const solutionsDir = path.join(repoRoot, 'solutions');
export const suitesDir = path.join(repoRoot, 'grader', 'suites');
export const containersDir = path.join(repoRoot, 'containers');
export const harnessEntry = path.join(repoRoot, 'grader', 'src', 'harness', 'index.ts');

import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { findExercise } from '../catalog/catalog.ts';
import { ConfigError } from '../errors.ts';
import { loadProgress } from '../learner/progress-state.ts';
import { notice } from '../log.ts';
import { repoRoot } from '../paths.ts';

/** Files of a folder, relative, sorted. */
async function filesOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

/**
 * `netkata solution <exercise>`: the reference, once the learner's own folder has passed the
 * hidden suite (or with `--force`, said on stderr). Returns the text and the exit code.
 */
export async function solution(name: string, force: boolean): Promise<{ text: string; code: number }> {
  const exercise = await findExercise(name);
  const id = exercise.manifest.id;
  const done = (await loadProgress()).exercises[id]?.completed === true;
  if (!done && !force) {
    return { text: `the reference solution of ${id} opens once your exercise passes its hidden suite: run  npx netkata grade ${id}  until it does (npx netkata hint ${id} helps), or pass --force to read it now\n`, code: 1 };
  }
  if (!done) notice(`showing the reference of ${id} before your exercise passed (--force): reading it first teaches less than getting there`);
  const files = await filesOf(exercise.solutionDir);
  const main = path.join(exercise.solutionDir, 'src', 'main.ts');
  const lines = [`reference solution of ${id}: ${path.relative(process.cwd(), exercise.solutionDir)}/`, ...files.map((f) => `  ${f}`), ''];
  if (files.includes(path.join('src', 'main.ts'))) lines.push(`--- src/main.ts`, await readFile(main, 'utf8'));
  return { text: `${lines.join('\n')}\n`, code: 0 };
}

const run = promisify(execFile);

/**
 * Puts `srcDir` (inside the git checkout `repoDir`) back as HEAD has it, after copying what is
 * there now to `backupDir`; files the learner added go to the backup too. Returns the files restored.
 */
export async function restoreCommitted(repoDir: string, srcDir: string, backupDir: string): Promise<string[]> {
  const relative = path.relative(repoDir, srcDir);
  // The starter is what the repository committed: `git ls-tree` names its files, `git show` gives each.
  const { stdout } = await run('git', ['ls-tree', '-r', '--name-only', 'HEAD', '--', relative], { cwd: repoDir });
  const files = stdout.split('\n').filter(Boolean);
  if (files.length === 0) throw new ConfigError(`git has no committed starter under ${relative}`);
  if (await stat(srcDir).then(() => true, () => false)) {
    await mkdir(path.dirname(backupDir), { recursive: true });
    // No catch: without a backup, nothing of the learner's is removed.
    await cp(srcDir, backupDir, { recursive: true, verbatimSymlinks: true });
  }
  await rm(srcDir, { recursive: true, force: true });
  for (const file of files) {
    const { stdout: content } = await run('git', ['show', `HEAD:${file}`], { cwd: repoDir, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    const target = path.join(repoDir, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  return files;
}

/**
 * `netkata reset <exercise>`: the starter's src/ back as git has it committed, the learner's
 * src/ kept in `.netkata/backups/<id>-<time>/`. Asks first on a terminal; elsewhere needs `--yes`.
 */
export async function reset(name: string, yes: boolean): Promise<string> {
  const exercise = await findExercise(name);
  const id = exercise.manifest.id;
  const src = path.join(exercise.exerciseDir, 'src');
  const backup = path.join(repoRoot, '.netkata', 'backups', `${id}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const shown = (p: string) => path.relative(process.cwd(), p) || '.';
  if (!yes) {
    if (!process.stdin.isTTY) throw new ConfigError(`reset replaces ${shown(src)} with the starter; pass --yes to confirm (your files go to ${shown(backup)})`);
    const { createInterface } = await import('node:readline/promises');
    const question = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await question.question(`reset ${shown(src)} to the starter? your files go to ${shown(backup)}  [y/N] `);
    question.close();
    if (!/^y(es)?$/i.test(answer.trim())) return 'nothing changed\n';
  }
  const files = await restoreCommitted(repoRoot, src, backup);
  return `${shown(src)} is the starter again (${files.length} file${files.length === 1 ? '' : 's'}); your files are in ${shown(backup)}\n`;
}

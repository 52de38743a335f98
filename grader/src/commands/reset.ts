import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { findExercise } from '../catalog/catalog.ts';
import { ConfigError } from '../errors.ts';

const run = promisify(execFile);

/** Runs git in `cwd` (execFile: no shell, so no path is ever interpreted); git's own complaint becomes a ConfigError. */
async function git(cwd: string, args: string[], what: string): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: string | Buffer }).stderr ?? '')
      .trim()
      .split('\n')[0];
    throw new ConfigError(`${what}: git says "${stderr || (error as Error).message}"`);
  }
}

/** One committed file of the starter, as `git ls-tree` names it. */
interface TreeEntry {
  readonly mode: string;
  readonly object: string;
  readonly file: string;
}

/**
 * Puts `srcDir` (inside the git checkout `repoDir`) back exactly as HEAD has it, after copying
 * what is there now to `backupDir`; files the learner added go to the backup and away too.
 * Returns the files restored, relative to `repoDir`.
 */
export async function restoreCommitted(repoDir: string, srcDir: string, backupDir: string): Promise<string[]> {
  // git names files from the checkout's real path: /tmp behind a symlink must not make "../".
  const relative = path.relative(await realpath(repoDir), path.join(await realpath(path.dirname(srcDir)), path.basename(srcDir)));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) throw new ConfigError(`${srcDir} is not inside the git checkout ${repoDir}`);
  // -z: names exactly as committed, whatever characters they hold.
  const listing = await git(
    repoDir,
    ['ls-tree', '-r', '-z', '--full-tree', 'HEAD', '--', relative.split(path.sep).join('/')],
    `cannot list the committed starter under ${relative}`,
  );
  const entries: TreeEntry[] = listing
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta = '', file = ''] = line.split('\t');
      const [mode = '', , object = ''] = meta.split(' ');
      return { mode, object, file };
    });
  if (entries.length === 0) throw new ConfigError(`git has no committed starter under ${relative} (reset restores what HEAD has there)`);
  const odd = entries.find((e) => !['100644', '100755', '120000'].includes(e.mode));
  if (odd) throw new ConfigError(`the committed starter holds ${odd.file} (git mode ${odd.mode}), which reset does not restore; use git itself`);
  // Every blob first, so a git failure leaves the learner's folder as it was.
  const contents = await Promise.all(
    entries.map(async (e) => {
      const { stdout } = await run('git', ['cat-file', 'blob', e.object], { cwd: repoDir, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    }),
  );
  if (
    await stat(srcDir).then(
      () => true,
      () => false,
    )
  ) {
    await mkdir(path.dirname(backupDir), { recursive: true });
    // No catch: without a backup, nothing of the learner's is removed. Symlinks stay links.
    await cp(srcDir, backupDir, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
  }
  // rm does not follow links: a src/ that is a symlink loses the link, not what it points at.
  await rm(srcDir, { recursive: true, force: true });
  for (const [i, entry] of entries.entries()) {
    const target = path.join(repoDir, ...entry.file.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    if (entry.mode === '120000') await symlink(contents[i]!.toString(), target);
    else {
      await writeFile(target, contents[i]!);
      if (entry.mode === '100755') await chmod(target, 0o755);
    }
  }
  return entries.map((e) => e.file);
}

/** A moment as a folder name: 2026-12-01T23-40-22-123Z. */
const stamp = (date: Date) => date.toISOString().replace(/[:.]/g, '-');

/**
 * `netkata reset <exercise>`: the starter's src/ back as git has it committed in the checkout
 * the exercise is in, the learner's src/ kept in that checkout's `.netkata/backups/<id>-<time>/`.
 * Asks first on a terminal; elsewhere it needs `--yes`.
 */
export async function reset(name: string, yes: boolean): Promise<string> {
  const exercise = await findExercise(name);
  const id = exercise.manifest.id;
  const src = path.join(exercise.exerciseDir, 'src');
  const checkout = (
    await git(exercise.exerciseDir, ['rev-parse', '--show-toplevel'], `${exercise.exerciseDir} is not in a git checkout, and reset restores what git committed`)
  ).trim();
  const backup = path.join(checkout, '.netkata', 'backups', `${id}-${stamp(new Date())}`);
  const shown = (p: string) => path.relative(process.cwd(), p) || '.';
  if (!yes) {
    if (!process.stdin.isTTY)
      throw new ConfigError(
        `reset replaces ${shown(src)} with the starter and asks first, but there is no terminal to ask on: pass --yes to confirm (your files would go to ${shown(backup)})`,
      );
    const { createInterface } = await import('node:readline/promises');
    const question = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await question.question(`reset ${shown(src)} to the starter? your files go to ${shown(backup)}  [y/N] `).finally(() => question.close());
    if (!/^y(es)?$/i.test(answer.trim())) return `nothing changed: ${shown(src)} is as you left it\n`;
  }
  const files = await restoreCommitted(checkout, src, backup);
  return `${shown(src)} is the starter again (${files.length} file${files.length === 1 ? '' : 's'} as git committed them); your files are in ${shown(backup)}\n`;
}

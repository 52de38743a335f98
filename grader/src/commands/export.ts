import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, open, readdir, readFile, realpath, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../errors.ts';
import { repoRoot } from '../paths.ts';
import { visibleLine } from '../sanitize.ts';
import { graderVersion } from '../version.ts';

const run = promisify(execFile);

/**
 * What a learner's copy holds, relative to the repository: what `npm ci` and `npx netkata
 * test|watch|hint|list|grade --suite` need, and nothing that gives an answer away. Left out, and
 * why:
 * - `solutions/`: the answers. `grader/suites/`: the hidden tests (the instructor grades with them).
 * - `grader/test/`: the grader's own tests and fixtures; the faulty variants are solutions with one
 *   bug each, and the tests name what each hidden stage catches.
 * - `docs/stability.md`: every hidden test's name and the figures it is held to. `docs/gradescope.md`,
 *   `adapters/`, `examples/ci/`: instructors' autograders and class CI, which need the hidden suites.
 * - `bench/`, `.ci/`, `vitest.config.ts`, `eslint.config.js`, `knip.jsonc`, `.dependency-cruiser.cjs`:
 *   the project's own benchmarks, CI and checks; they grade, lint and cruise the solutions and suites.
 * - The README: rewritten (see learnerReadme): its class, workshop and maintainer sections are the instructor's.
 * Hints stay: they are in the manifests and are part of the learner's loop.
 */
const LEARNER_PATHS = [
  'bin',
  'grader/src',
  'grader/manifest.schema.json',
  'grader/gradebook.schema.json',
  'containers',
  'exercises',
  'package-lock.json',
  'tsconfig.json',
  '.gitignore',
  '.devcontainer',
  '.prettierrc.json',
  '.prettierignore',
] as const;

/** What the learner's package (`npm pack` of the copy) needs to run `npx netkata` from node_modules. */
const LEARNER_PACKAGE_FILES = ['bin/', 'grader/src/', 'grader/manifest.schema.json', 'grader/gradebook.schema.json', 'containers/', 'exercises/'];

/**
 * The scripts that still work in a learner's copy. The others run the grader's own tests, checks,
 * schema writers and benchmarks, whose files are not there.
 */
const LEARNER_SCRIPTS = ['netkata', 'typecheck', 'format', 'format:check'];

/** Never part of a copy, wherever they are: installed packages, git's own data, a learner's progress. */
const NEVER = new Set(['node_modules', '.git', '.netkata']);

/** The README sections (by their `## ` heading) that are the learner's; the rest are instructors' and maintainers'. */
const LEARNER_SECTIONS = ['Solving an exercise', 'How grading works', 'Trust boundaries', 'The bad network'];

/** Written into every copy: which files the export wrote, so that `--force` can replace exactly those. */
export const EXPORT_MARKER = '.netkata-export.json';

export interface ExportResult {
  readonly dir: string;
  /** Files written, relative to `dir`, sorted. */
  readonly files: readonly string[];
  /** Files of the repository left out because they are not regular files (symbolic links above all), each with why. */
  readonly leftOut: readonly string[];
  /** Files of an earlier export in `dir` that `--force` removed because this one no longer has them. */
  readonly removed: readonly string[];
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const posix = (relative: string) => relative.split(path.sep).join('/');
const isInside = (parent: string, child: string) => {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
};

/** Regular files under `dir` (relative to `root`), without following a link; links and other kinds go to `leftOut`. */
async function walk(root: string, relative: string, files: string[], leftOut: string[]): Promise<void> {
  const full = path.join(root, relative);
  const info = await lstat(full).catch(() => undefined);
  if (!info) return;
  if (info.isSymbolicLink()) leftOut.push(`${posix(relative)}: a symbolic link (never followed)`);
  else if (info.isFile()) files.push(posix(relative));
  else if (!info.isDirectory()) leftOut.push(`${posix(relative)}: not a regular file`);
  else
    for (const name of (await readdir(full)).sort()) {
      if (!NEVER.has(name)) await walk(root, path.join(relative, name), files, leftOut);
    }
}

/** Runs git in the repository; undefined when git is missing or says no (not a checkout). */
async function git(root: string, args: string[], input?: string): Promise<string | undefined> {
  try {
    const child = run('git', args, { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    // A git that exits before reading (or without reading: rev-parse) closes the pipe: EPIPE is no error of ours.
    child.child.stdin?.on('error', () => {});
    child.child.stdin?.end(input);
    return (await child).stdout;
  } catch (error) {
    // check-ignore exits 1 when no path is ignored: an answer, not a failure.
    const failed = error as { code?: unknown; stdout?: string };
    return failed.code === 1 && args[0] === 'check-ignore' ? (failed.stdout ?? '') : undefined;
  }
}

/**
 * In a git checkout of the repository: refuses exercises/ that differ from HEAD (an instructor's
 * own attempt at a kata must not go out as the starter), and drops files git ignores (build
 * outputs such as the C starter's `server`, logs). Outside one (an installed package) there is
 * no history to compare with: the files on disk are the starters.
 */
async function gitFilter(root: string, files: readonly string[]): Promise<readonly string[]> {
  const top = await git(root, ['rev-parse', '--show-toplevel']);
  if (top === undefined || (await realpath(top.trim()).catch(() => '')) !== root) return files;
  const changed = (await git(root, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--', 'exercises'])) ?? '';
  const entries = changed.split('\0').filter(Boolean);
  if (entries.length > 0) {
    const shown = entries.slice(0, 5).map((e) => JSON.stringify(e));
    throw new ConfigError(
      `exercises/ differs from git's HEAD (${shown.join(', ')}${entries.length > 5 ? `, and ${entries.length - 5} more` : ''}): a learner's copy hands out the committed starters; commit or stash the changes first (netkata reset puts a starter back)`,
    );
  }
  const ignored = new Set(((await git(root, ['check-ignore', '-z', '--stdin'], files.join('\0'))) ?? '').split('\0').filter(Boolean));
  return files.filter((f) => !ignored.has(f));
}

/**
 * The contents a learner's copy must not hold: every file of the hidden suites, and every file of
 * the reference solutions except scaffolding the exercise hands out as it is (a solution's file
 * identical to the exercise's at the same path, outside src/: the C starter's Makefile, say). A
 * src/ file identical to the starter's still counts: a starter that is its own solution is a leak.
 */
async function answerDigests(root: string): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  for (const tree of ['solutions', 'grader/suites']) {
    const files: string[] = [];
    await walk(root, tree, files, []);
    for (const file of files) {
      const content = await readFile(path.join(root, file));
      if (content.length === 0) continue;
      if (tree === 'solutions' && !file.split('/').includes('src')) {
        const counterpart = await readFile(path.join(root, 'exercises', path.relative('solutions', file))).catch(() => undefined);
        if (counterpart?.equals(content)) continue;
      }
      digests.set(sha256(content), file);
    }
  }
  return digests;
}

/** The sections of a markdown file by `## ` heading, with the text before the first as ''. */
function sections(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  const parts = markdown.split(/^(?=## )/m);
  for (const part of parts) found.set(/^## (.+)$/m.exec(part)?.[1]?.trim() ?? '', part.trimEnd());
  return found;
}

/**
 * The copy's README: the repository's title and introduction, a note on what this copy is and
 * where the hidden suite comes from, then the learner's sections of the full README as they are.
 * A section renamed in the README fails the export loudly rather than vanishing from the copy.
 */
function learnerReadme(full: string, node: string, withLockfile: boolean): string {
  const parts = sections(full);
  const intro = parts.get('');
  if (!intro?.startsWith('# ')) throw new ConfigError("README.md does not start with its title; the export builds the copy's README from it");
  const kept = LEARNER_SECTIONS.map((title) => {
    const text = parts.get(title);
    if (text === undefined)
      throw new ConfigError(
        `README.md has no section "## ${title}", which the learner's copy takes from it (see LEARNER_SECTIONS in grader/src/commands/export.ts)`,
      );
    return text;
  });
  const install = `${withLockfile ? 'npm ci' : 'npm install'}                                  `.slice(0, 40);
  const note = `## This copy is a learner's

This repository is a learner's copy of netkata, written by \`netkata export --learner\`. It holds
the exercises (each one's spec, manifest, starter and visible tests) and the grader. It leaves out
what would give answers away: the reference solutions (\`solutions/\`), the hidden test suites
(\`grader/suites/\`), the grader's own tests and their faulty variants (\`grader/test/\`), and the
record of the hidden tests' names and figures.

\`\`\`sh
${install}# Node.js ${node}; Docker for grade
npx netkata                             # your progress: each exercise's status, and what to run next
npx netkata test echo-server            # visible tests, your code as a local process
npx netkata watch echo-server           # the same on every save; keys: h hint, g grade, q quit
npx netkata hint echo-server            # the next hint for the stage you are on
\`\`\`

**Where the hidden suite comes from.** \`netkata grade <exercise>\` runs an exercise's hidden tests,
and they are not in this copy: your instructor has them. Either your instructor's CI grades what
you push (with the full netkata, hidden suites and all), or, where your instructor hands you a
suite, \`npx netkata grade echo-server --suite DIR\` grades your exercise against it here, in
Docker. Without \`--suite\`, \`grade\` says so and exits 2 (as \`g\` in \`watch\` does). The
reference solutions (\`netkata solution\`) are not part of this copy either.

\`netkata reset <exercise>\` puts a starter back as git's HEAD has it, so commit this copy as it
comes (\`git init && git add -A && git commit -m starters\`) before you start.

The sections below are the full netkata README's for learners. Where they name the project's own
tests (\`grader/test/...\`), its benchmarks (\`bench/\`), the hidden suites or the reference
solutions, those are in your instructor's copy.`;
  return `${[intro, note, ...kept].join('\n\n')}\n`;
}

/** The copy's package.json: the repository's, with the scripts that still work and the learner's package files. */
function learnerPackage(full: string): string {
  const pkg = JSON.parse(full) as Record<string, unknown> & { scripts?: Record<string, string> };
  // Dependencies stay as they are, devDependencies too: `npm ci` refuses a package.json that
  // package-lock.json does not match, and the starters' editor types (typescript, @types/node) are among them.
  const scripts = Object.fromEntries(Object.entries(pkg.scripts ?? {}).filter(([name]) => LEARNER_SCRIPTS.includes(name)));
  return `${JSON.stringify({ ...pkg, private: true, scripts, files: LEARNER_PACKAGE_FILES }, null, 2)}\n`;
}

/** The real path `dir` will have: its nearest existing ancestor's real path, and the rest. */
async function realTarget(dir: string): Promise<string> {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    const real = await realpath(at).catch(() => undefined);
    if (real) return path.join(real, ...missing.reverse());
    missing.push(path.basename(at));
    const up = path.dirname(at);
    if (up === at) return path.resolve(dir);
    at = up;
  }
}

/**
 * Creates `relative`'s folders under `dir`, each a real folder: a link planted in the target (a
 * `exercises` that points at /etc) makes the export stop before it writes through it.
 */
async function ensureFolders(dir: string, relative: string): Promise<void> {
  let at = dir;
  for (const part of path
    .dirname(relative)
    .split('/')
    .filter((p) => p !== '.')) {
    at = path.join(at, part);
    const info = await lstat(at).catch(() => undefined);
    if (!info) await mkdir(at);
    else if (!info.isDirectory())
      throw new ConfigError(`${at} is in the way of the export (${info.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}); remove it`);
  }
}

/** Writes a new file (O_EXCL: a link or file there fails it, nothing is written through a link). */
async function writeNew(file: string, content: Buffer | string, mode: number): Promise<void> {
  const handle = await open(file, 'wx', mode);
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
}

/**
 * With `--force` into a folder an earlier export wrote: removes the files that export listed (regular
 * files inside the folder only; the list is read from the folder, so it is not trusted further),
 * then the folders left empty. Anything else there (.git, the class's own workflows) stays.
 */
async function removeEarlierExport(dir: string): Promise<string[]> {
  const marker = await readFile(path.join(dir, EXPORT_MARKER), 'utf8').catch(() => undefined);
  if (marker === undefined) return [];
  let listed: unknown;
  try {
    listed = (JSON.parse(marker) as { files?: unknown }).files;
  } catch {
    throw new ConfigError(`${path.join(dir, EXPORT_MARKER)} is not an export's record (not JSON); remove it or export elsewhere`);
  }
  if (!Array.isArray(listed)) throw new ConfigError(`${path.join(dir, EXPORT_MARKER)} is not an export's record (no file list)`);
  const removed: string[] = [];
  const folders = new Set<string>();
  for (const entry of listed) {
    if (typeof entry !== 'string' || entry === '' || path.isAbsolute(entry) || entry.split('/').some((p) => p === '..' || p === '' || p === '.')) continue;
    const file = path.join(dir, ...entry.split('/'));
    // Every folder on the way must be a real one: a link would lead the removal out of dir.
    let inside = true;
    for (let at = path.dirname(file); at !== dir && inside; at = path.dirname(at)) inside = (await lstat(at).catch(() => undefined))?.isDirectory() === true;
    const info = inside ? await lstat(file).catch(() => undefined) : undefined;
    if (!info?.isFile()) continue;
    await rm(file);
    removed.push(entry);
    for (let at = path.dirname(entry); at !== '.'; at = path.dirname(at)) folders.add(at);
  }
  // Deepest first; a folder that still holds something of the instructor's stays.
  for (const folder of [...folders].sort((a, b) => b.length - a.length)) await rmdir(path.join(dir, ...folder.split('/'))).catch(() => {});
  return removed;
}

/**
 * `netkata export --learner DIR`: writes a repository for a class. The exercises and the grader,
 * without the answers (see LEARNER_PATHS), with a README saying where the hidden suite comes from
 * and a package.json whose scripts all work there. Refuses a DIR that is not empty unless `force`;
 * never follows a link of the repository, nor writes through one in DIR.
 */
export async function exportLearner(target: string, options: { readonly force: boolean }): Promise<ExportResult> {
  const root = await realpath(repoRoot);
  const dir = await realTarget(target);
  if (isInside(root, dir) || isInside(dir, root))
    throw new ConfigError(`export into a folder outside this repository (${root}), not ${dir}: a copy inside it would hold the answers' neighbours`);
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new ConfigError(`${dir} exists and is not a folder`);
  const present = existing ? await readdir(dir) : [];
  if (present.length > 0 && !options.force)
    throw new ConfigError(`${dir} is not empty (${present.length} entries): export into a new folder, or pass --force to write over an earlier export there`);

  const walked: string[] = [];
  const leftOut: string[] = [];
  for (const entry of LEARNER_PATHS) await walk(root, entry, walked, leftOut);
  const files = await gitFilter(root, walked);
  for (const required of ['bin/netkata.js', 'grader/src/cli.ts']) {
    if (!files.includes(required)) throw new ConfigError(`${required} is missing from ${root}: this is not a whole netkata`);
  }
  // Whatever the paths above say, no answer goes out under another name.
  const answers = await answerDigests(root);
  const contents = new Map<string, { data: Buffer; mode: number }>();
  for (const file of files) {
    const full = path.join(root, file);
    const data = await readFile(full);
    const leak = answers.get(sha256(data));
    if (leak) throw new ConfigError(`${file} has the content of ${leak}: a learner's copy would hand out an answer; nothing was written`);
    contents.set(file, { data, mode: ((await lstat(full)).mode & 0o111) !== 0 ? 0o755 : 0o644 });
  }
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const pkg = await readFile(path.join(root, 'package.json'), 'utf8');
  const node = (JSON.parse(pkg) as { engines?: { node?: string } }).engines?.node ?? 'as package.json says';
  contents.set('README.md', { data: Buffer.from(learnerReadme(readme, node, files.includes('package-lock.json'))), mode: 0o644 });
  contents.set('package.json', { data: Buffer.from(learnerPackage(pkg)), mode: 0o644 });

  await mkdir(dir, { recursive: true });
  const removed = options.force ? await removeEarlierExport(dir) : [];
  const written = [...contents.keys()].sort();
  for (const file of written) {
    const { data, mode } = contents.get(file)!;
    await ensureFolders(dir, file);
    const destination = path.join(dir, ...file.split('/'));
    // --force writes over a file of the same name; rm removes a link itself, never what it points at.
    if (options.force) await rm(destination, { force: true });
    await writeNew(destination, data, mode);
  }
  const marker = path.join(dir, EXPORT_MARKER);
  await rm(marker, { force: true });
  await writeNew(marker, `${JSON.stringify({ edition: 'learner', graderVersion, files: written }, null, 2)}\n`, 0o644);
  return { dir, files: written, leftOut, removed: removed.filter((f) => !contents.has(f)).sort() };
}

export function renderExport(result: ExportResult): string {
  const lines = [
    `wrote a learner's copy of netkata to ${visibleLine(result.dir)}: ${result.files.length} files (exercises, starters, visible tests, the grader), no solutions or hidden suites`,
    ...result.removed.map((f) => `  removed ${visibleLine(f)} (an earlier export's, gone from this one)`),
    ...result.leftOut.map((f) => `  left out ${visibleLine(f)}`),
    `next: commit it (git init && git add -A && git commit -m starters, in ${visibleLine(result.dir)}); its README says where the hidden suite comes from (--suite DIR, or your CI)`,
  ];
  return `${lines.join('\n')}\n`;
}

// `netkata export --learner DIR`: a class's repository with the exercises and the grader and
// none of the answers, which works as a checkout (list, test, hint; grade saying where the hidden
// suite comes from) and as a package installed from its tarball (npx netkata from node_modules).
// Integration project: the package is installed with npm (from its cache, the registry if need be).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listExercises } from '../src/catalog/catalog.ts';
import { EXPORT_MARKER } from '../src/commands/export.ts';
import { repoRoot } from '../src/paths.ts';
import type { CliResult } from './helpers/cli.ts';

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Runs a program as a user would, from `cwd`; npm's own variables (this run may be under npx) are not passed on. */
function run(cwd: string, command: string, args: readonly string[], timeoutMs = 60_000): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ pid: child.pid!, code, signal, stdout, stderr }));
  });
}

/** `node <copy>/bin/netkata.js ...` from the copy's folder. */
const netkataIn = (dir: string, args: readonly string[]) => run(dir, process.execPath, [path.join(dir, 'bin', 'netkata.js'), ...args]);

/** Every regular file under `dir`, relative, without following links or entering node_modules. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && !path.relative(dir, e.parentPath).split(path.sep).includes('node_modules'))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const HIDDEN_SUITE_MESSAGE = /the hidden suite of echo-server is not in this copy of netkata .*--suite DIR .*your instructor's CI/s;

describe('netkata export --learner', async () => {
  const exercises = await listExercises();
  let tmp: string;
  let out: string;
  let exported: CliResult;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'netkata-export-'));
    out = path.join(tmp, 'learner');
    exported = await netkataIn(repoRoot, ['export', '--learner', out]);
    // Every test below reads the copy: without one, say why once rather than eight ways.
    if (exported.code !== 0) throw new Error(`export --learner failed (exit ${exported.code}):\n${exported.stdout}${exported.stderr}`);
    // What `npm ci` would install there: this checkout's packages.
    await symlink(await realpath(path.join(repoRoot, 'node_modules')), path.join(out, 'node_modules'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test('writes the copy and says where the hidden suite comes from', () => {
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/wrote a learner's copy of netkata to .*: \d+ files/);
    expect(exported.stdout).toContain('--suite DIR');
  });

  test("leaves out the solutions, the hidden suites, the grader's own tests and the record of hidden tests", async () => {
    for (const gone of ['solutions', 'grader/suites', 'grader/test', 'bench', '.ci', 'docs', 'adapters', 'examples', 'vitest.config.ts']) {
      expect(await exists(path.join(out, gone)), gone).toBe(false);
    }
    // No answer under another name: no file has the content of a solution's file, a hidden suite's or a
    // faulty fixture's. A solution's file identical to the exercise's at the same path outside src/
    // (the C starter's Makefile) is scaffolding the exercise hands out, not an answer.
    const answers = new Map<string, string>();
    for (const tree of ['solutions', 'grader/suites', 'grader/test/fixtures']) {
      for (const file of await filesUnder(path.join(repoRoot, tree))) {
        const content = await readFile(path.join(repoRoot, tree, file));
        if (content.length === 0) continue;
        const counterpart = await readFile(path.join(repoRoot, 'exercises', file)).catch(() => undefined);
        if (tree === 'solutions' && !file.split(path.sep).includes('src') && counterpart?.equals(content)) continue;
        answers.set(digest(content), `${tree}/${file}`);
      }
    }
    expect(answers.size).toBeGreaterThan(100);
    const leaks: string[] = [];
    for (const file of await filesUnder(out)) {
      const answer = answers.get(digest(await readFile(path.join(out, file))));
      if (answer) leaks.push(`${file} = ${answer}`);
    }
    expect(leaks).toEqual([]);
  });

  test('holds every exercise (spec, manifest, starter, visible tests) and the grader as the repository has them', async () => {
    for (const exercise of exercises) {
      const files = await filesUnder(exercise.exerciseDir);
      expect(files).toEqual(expect.arrayContaining(['README.md', 'manifest.json', path.join('src', 'main.ts')]));
      expect(files.some((f) => f.startsWith(`test${path.sep}`) && f.endsWith('.test.ts'))).toBe(true);
      for (const file of files) {
        const copy = await readFile(path.join(out, 'exercises', exercise.folder, file)).catch(() => undefined);
        expect(copy?.equals(await readFile(path.join(exercise.exerciseDir, file))), `${exercise.folder}/${file}`).toBe(true);
      }
    }
    for (const file of [
      'bin/netkata.js',
      'grader/src/cli.ts',
      'grader/src/harness/index.ts',
      'containers/runtime/Dockerfile',
      'package-lock.json',
      'tsconfig.json',
    ]) {
      expect(await exists(path.join(out, file)), file).toBe(true);
    }
    const marker = JSON.parse(await readFile(path.join(out, EXPORT_MARKER), 'utf8')) as { files: string[] };
    expect(marker.files).toEqual((await filesUnder(out)).filter((f) => f !== EXPORT_MARKER).map((f) => f.split(path.sep).join('/')));
  });

  test("its package.json and README are a learner's", async () => {
    const pkg = JSON.parse(await readFile(path.join(out, 'package.json'), 'utf8')) as {
      private: boolean;
      scripts: Record<string, string>;
      files: string[];
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const full = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as typeof pkg;
    expect(pkg.private).toBe(true);
    // Scripts that would run the grader's own tests, checks or benchmarks are gone with their files.
    expect(Object.keys(pkg.scripts).sort()).toEqual(['format', 'format:check', 'netkata', 'typecheck']);
    expect(pkg.files.filter((f) => /solutions|suites|grader\/test/.test(f))).toEqual([]);
    // npm ci needs package.json to match the lockfile, which is copied as it is.
    expect(pkg.dependencies).toEqual(full.dependencies);
    expect(pkg.devDependencies).toEqual(full.devDependencies);
    expect(pkg.dependencies.tsx, 'bin/netkata.js runs through tsx: a dependency, not a dev one').toBeDefined();

    const readme = await readFile(path.join(out, 'README.md'), 'utf8');
    expect(readme).toMatch(/^# netkata\n/);
    expect(readme).toContain("## This copy is a learner's");
    expect(readme).toContain('npx netkata grade echo-server --suite DIR');
    for (const kept of ['## Solving an exercise', '## How grading works', '## The bad network']) expect(readme).toContain(kept);
    for (const gone of ['## Grading a class', '## Running a workshop', '## Speed and stability of grading', '## Repository', '## The two commands'])
      expect(readme).not.toContain(gone);
  });

  test('list, hint and the visible tests work there; grade and solution say plainly what is missing', async () => {
    const list = await netkataIn(out, ['list']);
    expect(list.code, list.stderr).toBe(0);
    for (const exercise of exercises) expect(list.stdout).toContain(exercise.folder);

    const grade = await netkataIn(out, ['grade', 'echo-server']);
    expect(grade.code, grade.stderr).toBe(2);
    expect(grade.stderr).toMatch(HIDDEN_SUITE_MESSAGE);
    expect(grade.stderr).not.toMatch(/ENOENT|does not exist/);

    const solution = await netkataIn(out, ['solution', 'echo-server', '--force']);
    expect(solution.code).toBe(2);
    expect(solution.stderr).toMatch(/reference solution of echo-server is not part of this copy of netkata/);
    const reference = await netkataIn(out, ['grade', 'echo-server', '--solution', '--suite', path.join(repoRoot, 'grader', 'suites', 'echo-server')]);
    expect(reference.code).toBe(2);
    expect(reference.stderr).toMatch(/reference solution of echo-server is not part of this copy/);

    const hint = await netkataIn(out, ['hint', 'echo-server']);
    expect(hint.code, hint.stderr).toBe(0);
    expect(hint.stdout).toMatch(/^echo-server, stage 1: /);

    // The starter fails its visible tests: a report, exit 1, not a grader error.
    const visible = await netkataIn(out, ['test', 'echo-server']);
    expect(visible.code, visible.stderr).toBe(1);
    expect(visible.stdout).toMatch(/FAIL 0\/\d+ points/);
  });

  test('refuses a folder that is not empty or inside the repository; --force replaces an earlier export and nothing else', async () => {
    const again = await netkataIn(repoRoot, ['export', '--learner', out]);
    expect(again.code, again.stdout + again.stderr).toBe(2);
    expect(again.stderr).toMatch(/is not empty .*--force/);
    const inside = await netkataIn(repoRoot, ['export', '--learner', path.join(repoRoot, 'learner-copy')]);
    expect(inside.code).toBe(2);
    expect(inside.stderr).toMatch(/outside this repository/);
    expect(await exists(path.join(repoRoot, 'learner-copy'))).toBe(false);

    // An earlier export had an exercise this one does not; the instructor keeps a file of their own there.
    const markerFile = path.join(out, EXPORT_MARKER);
    const marker = JSON.parse(await readFile(markerFile, 'utf8')) as { files: string[] };
    await mkdir(path.join(out, 'exercises', '99-gone'));
    await writeFile(path.join(out, 'exercises', '99-gone', 'README.md'), 'gone\n');
    await writeFile(path.join(out, 'CLASS.md'), 'the class rules\n');
    await mkdir(path.join(out, '.github', 'workflows'), { recursive: true });
    await writeFile(path.join(out, '.github', 'workflows', 'grade.yml'), 'on: push\n');
    // A hostile entry in the record must not reach outside the folder.
    const outside = path.join(tmp, 'outside.txt');
    await writeFile(outside, 'not the export\n');
    await writeFile(markerFile, JSON.stringify({ ...marker, files: [...marker.files, 'exercises/99-gone/README.md', '../outside.txt', outside] }));
    const forced = await netkataIn(repoRoot, ['export', '--learner', out, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('removed exercises/99-gone/README.md');
    expect(await exists(path.join(out, 'exercises', '99-gone'))).toBe(false);
    expect(await readFile(path.join(out, 'CLASS.md'), 'utf8')).toBe('the class rules\n');
    expect(await readFile(outside, 'utf8')).toBe('not the export\n');
    expect(await readFile(path.join(out, '.github', 'workflows', 'grade.yml'), 'utf8')).toBe('on: push\n');

    // A link planted in the target is never written through.
    const planted = path.join(tmp, 'planted');
    const elsewhere = path.join(tmp, 'elsewhere');
    await mkdir(planted);
    await mkdir(elsewhere);
    await symlink(elsewhere, path.join(planted, 'exercises'));
    const through = await netkataIn(repoRoot, ['export', '--learner', planted, '--force']);
    expect(through.code).toBe(2);
    expect(through.stderr).toMatch(/exercises is in the way of the export \(a symbolic link\)/);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  test('never follows a link out of the repository (a copy exported again, where no git is)', async () => {
    const secret = path.join(tmp, 'secret.txt');
    await writeFile(secret, 'the instructor private key\n');
    const link = path.join(out, 'exercises', '01-echo-server', 'src', 'escape.ts');
    await symlink(secret, link);
    const copy = path.join(tmp, 'copy-of-copy');
    try {
      const result = await netkataIn(out, ['export', '--learner', copy]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('left out exercises/01-echo-server/src/escape.ts: a symbolic link (never followed)');
      expect(await exists(path.join(copy, 'exercises', '01-echo-server', 'src', 'escape.ts'))).toBe(false);
      expect(await exists(path.join(copy, 'exercises', '01-echo-server', 'src', 'main.ts'))).toBe(true);
      for (const file of await filesUnder(copy)) expect(await readFile(path.join(copy, file), 'utf8'), file).not.toContain('private key');
    } finally {
      await rm(link);
    }
  });

  test('refuses to hand out an answer under another name, or exercises that differ from git HEAD', async () => {
    // The learner's copy stands in for a repository here (its own bin exports it): a solution in it,
    // and the same content as an exercise's helper file.
    const reference = await readFile(path.join(repoRoot, 'solutions', '01-echo-server', 'src', 'main.ts'));
    await mkdir(path.join(out, 'solutions', '01-echo-server', 'src'), { recursive: true });
    await writeFile(path.join(out, 'solutions', '01-echo-server', 'src', 'main.ts'), reference);
    const helper = path.join(out, 'exercises', '01-echo-server', 'src', 'helper.ts');
    await writeFile(helper, reference);
    try {
      const leaked = await netkataIn(out, ['export', '--learner', path.join(tmp, 'leaked')]);
      expect(leaked.code).toBe(2);
      expect(leaked.stderr).toContain('exercises/01-echo-server/src/helper.ts has the content of solutions/01-echo-server/src/main.ts');
      expect(await exists(path.join(tmp, 'leaked'))).toBe(false);
    } finally {
      await rm(helper);
      await rm(path.join(out, 'solutions'), { recursive: true });
    }

    // A git checkout whose exercises/ holds an attempt at a kata: the starter as committed, or nothing.
    const checkout = path.join(tmp, 'checkout');
    const copied = await netkataIn(out, ['export', '--learner', checkout]);
    expect(copied.code, copied.stderr).toBe(0);
    const git = (...args: string[]) => run(checkout, 'git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args]);
    for (const args of [
      ['init', '-q'],
      ['add', '-A'],
      ['commit', '-qm', 'starters'],
    ])
      expect((await git(...args)).code).toBe(0);
    await symlink(await realpath(path.join(repoRoot, 'node_modules')), path.join(checkout, 'node_modules'));
    await writeFile(path.join(checkout, 'exercises', '01-echo-server', 'src', 'main.ts'), reference);
    const dirty = await netkataIn(checkout, ['export', '--learner', path.join(tmp, 'dirty')]);
    expect(dirty.code, dirty.stderr).toBe(2);
    expect(dirty.stderr).toContain(`exercises/ differs from git's HEAD (" M exercises/01-echo-server/src/main.ts")`);
    expect(await exists(path.join(tmp, 'dirty'))).toBe(false);
  });

  test('packs and installs as a package: npx netkata lists the exercises, grades with --suite from node_modules, and the full package with its own suites', async () => {
    const packDir = path.join(tmp, 'pack');
    const app = path.join(tmp, 'app');
    await mkdir(packDir);
    await mkdir(app);
    const packed = await run(tmp, 'npm', ['pack', out, '--pack-destination', packDir, '--json']);
    expect(packed.code, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info!.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining(['bin/netkata.js', 'grader/src/cli.ts', 'exercises/01-echo-server/test/echo.test.ts', 'containers/runtime/Dockerfile']),
    );
    expect(files.filter((f) => /^(solutions|grader\/suites|grader\/test|bench)\//.test(f))).toEqual([]);

    await writeFile(path.join(app, 'package.json'), `${JSON.stringify({ name: 'a-class', private: true })}\n`);
    const installed = await installTarball(app, path.join(packDir, info!.filename));
    expect(installed.code, installed.stderr).toBe(0);

    const list = await run(app, 'npx', ['--no-install', 'netkata', 'list']);
    expect(list.code, list.stderr).toBe(0);
    for (const exercise of exercises) expect(list.stdout).toContain(exercise.folder);

    const bin = path.join(app, 'node_modules', 'netkata', 'bin', 'netkata.js');
    const grade = await run(app, process.execPath, [bin, 'grade', 'echo-server']);
    expect(grade.code).toBe(2);
    expect(grade.stderr).toMatch(HIDDEN_SUITE_MESSAGE);

    // The instructor's suite, from outside the package, grades a submission outside it too (the local
    // runtime: the reference is trusted code, and this test needs no Docker).
    const suite = path.join(tmp, 'instructor-suite');
    await mkdir(suite);
    for (const file of await readdir(path.join(repoRoot, 'grader', 'suites', 'echo-server')))
      await writeFile(path.join(suite, file), await readFile(path.join(repoRoot, 'grader', 'suites', 'echo-server', file)));
    const graded = await gradeReferenceStage1(app, bin, '--suite', suite);
    expect(graded.code, graded.stderr).toBe(0);
    const report = JSON.parse(graded.stdout) as { status: string; points: number; stages: Array<{ stage: number; status: string }> };
    expect(report.status).toBe('pass');
    expect(report.stages.map((s) => [s.stage, s.status])).toEqual([[1, 'pass']]);
    expect(report.points).toBeGreaterThan(0);

    // This repository's own package, over the learner's in the same project: its hidden suites are
    // packaged, so a folder is graded from node_modules with no --suite; its tests and CI are not.
    const fullPack = path.join(tmp, 'full-pack');
    await mkdir(fullPack);
    const full = await run(tmp, 'npm', ['pack', repoRoot, '--pack-destination', fullPack, '--json']);
    expect(full.code, full.stderr).toBe(0);
    const [fullInfo] = JSON.parse(full.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const fullFiles = fullInfo!.files.map((f) => f.path);
    expect(fullFiles).toEqual(expect.arrayContaining(['grader/suites/echo-server/01-accept.test.ts', 'solutions/01-echo-server/src/main.ts']));
    expect(fullFiles.filter((f) => /^(grader\/test|bench|\.ci|docs)\//.test(f))).toEqual([]);
    const reinstalled = await installTarball(app, path.join(fullPack, fullInfo!.filename));
    expect(reinstalled.code, reinstalled.stderr).toBe(0);
    const packaged = await gradeReferenceStage1(app, bin);
    expect(packaged.code, packaged.stderr).toBe(0);
    expect((JSON.parse(packaged.stdout) as { status: string }).status).toBe('pass');
  });
});

/** `netkata grade echo-server` of the reference's stage 1 on the local runtime, by the installed package's bin, from `app`. */
function gradeReferenceStage1(app: string, bin: string, ...more: string[]) {
  const args = ['grade', 'echo-server', ...more, '--submission', path.join(repoRoot, 'solutions', '01-echo-server'), '--runtime', 'local', '--stages', '1'];
  return run(app, process.execPath, [bin, ...args, '--reporter', 'json']);
}

/** `npm install TARBALL` into `app`: from npm's cache where it can (about 10 s here), the registry otherwise; no install scripts (esbuild and tsx work without theirs). */
function installTarball(app: string, tarball: string) {
  return run(app, 'npm', ['install', tarball, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], 240_000);
}

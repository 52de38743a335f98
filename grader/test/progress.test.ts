// Progress that persists: the state file, the overview `npx netkata` prints, and `list`.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { listExercises } from '../src/catalog/catalog.ts';
import { overview } from '../src/commands/overview.ts';
import { restoreCommitted } from '../src/commands/reset.ts';
import { ConfigError } from '../src/errors.ts';
import { loadProgress, recordResult } from '../src/learner/progress-state.ts';
import { repoRoot } from '../src/paths.ts';
import type { GradeReport } from '../src/report/grade-report.ts';
import { netkata } from './helpers/cli.ts';

const scratchDirs: string[] = [];
/** A temporary folder removed after the test. */
async function scratchDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(scratchDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

let file: string;
beforeEach(async () => {
  file = path.join(await scratchDir('netkata-progress-'), 'progress.json');
});

const report = (id: string, points: number, passed: number[], stageCount: number, status: GradeReport['status'] = 'fail') =>
  ({
    exercise: { id, title: id },
    status,
    points,
    maxPoints: 120,
    stages: Array.from({ length: stageCount }, (_, i) => ({
      stage: i + 1,
      title: `s${i + 1}`,
      status: passed.includes(i + 1) ? 'pass' : 'fail',
      points: 0,
      maxPoints: 20,
    })),
  }) as unknown as GradeReport;

test('records the best and the last result per kind; only an own, unfiltered, passing grade completes', async () => {
  await recordResult(report('echo-server', 30, [1, 2], 6), { kind: 'grade', own: true, complete: true }, file);
  await recordResult(report('echo-server', 10, [1], 6), { kind: 'grade', own: true, complete: true }, file);
  await recordResult(report('echo-server', 120, [1, 2, 3, 4, 5, 6], 6, 'pass'), { kind: 'grade', own: false, complete: true }, file);
  await recordResult(report('echo-server', 120, [1, 2, 3, 4, 5, 6], 6, 'pass'), { kind: 'grade', own: true, complete: false }, file);
  // The grader's own failure is no result of the learner's.
  await recordResult(report('echo-server', 0, [], 6, 'error'), { kind: 'grade', own: true, complete: true }, file);
  let progress = await loadProgress(file);
  expect(progress.exercises['echo-server']?.grade?.best.points).toBe(30);
  expect(progress.exercises['echo-server']?.grade?.last.points).toBe(10);
  expect(progress.exercises['echo-server']?.completed).toBe(false);
  // Passing visible tests are kept apart and complete nothing: only the hidden suite does.
  await recordResult(report('echo-server', 120, [1, 2, 3, 4, 5, 6], 6, 'pass'), { kind: 'test', own: true, complete: true }, file);
  progress = await loadProgress(file);
  expect(progress.exercises['echo-server']).toMatchObject({ completed: false, test: { best: { status: 'pass' } }, grade: { best: { points: 30 } } });
  await recordResult(report('echo-server', 120, [1, 2, 3, 4, 5, 6], 6, 'pass'), { kind: 'grade', own: true, complete: true }, file);
  progress = await loadProgress(file);
  expect(progress.exercises['echo-server']).toMatchObject({ completed: true, grade: { best: { points: 120, stagesPassed: [1, 2, 3, 4, 5, 6] } } });
  // Done stays done after a worse grade (the reference stays open); the worse one is the last.
  await recordResult(report('echo-server', 40, [1, 2, 3], 6), { kind: 'grade', own: true, complete: true }, file);
  progress = await loadProgress(file);
  expect(progress.exercises['echo-server']).toMatchObject({
    completed: true,
    grade: { best: { points: 120 }, last: { points: 40, stagesPassed: [1, 2, 3], status: 'fail' } },
  });
  // Rewritten whole: one JSON document, no temporary file left beside it.
  expect(JSON.parse(await readFile(file, 'utf8')).version).toBe(1);
  expect(await readdir(path.dirname(file))).toEqual(['progress.json']);
});

test('a broken state file is set aside as .bad, said in one line, and grading goes on from empty', async () => {
  await writeFile(file, '{"version": 1, "exercises": {"echo-server": {"grade": 12}}}');
  const progress = await loadProgress(file);
  expect(progress.exercises).toEqual({});
  expect(await readFile(`${file}.bad`, 'utf8')).toContain('"grade": 12');
});

test('an unknown or unparsable state file never stops the CLI: one line on stderr, the file kept as .bad', async () => {
  const env = { NETKATA_PROGRESS_FILE: file };
  for (const [text, why] of [
    ['{"version": 2, "exercises": {}}', /at version: Invalid input: expected 1/],
    ['{"version": 1, "exer', /Unexpected end of JSON input|Unterminated string/],
  ] as const) {
    await writeFile(file, text);
    const shown = await netkata([], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/01-echo-server +Echo server +not run +not run$/m);
    expect(shown.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(shown.stderr).toMatch(/is not a netkata progress file \(.+\); starting afresh, the old file is progress\.json\.bad/);
    expect(shown.stderr).toMatch(why);
    expect(await readFile(`${file}.bad`, 'utf8')).toBe(text);
  }
});

test('npx netkata shows every exercise with its visible and hidden status and the exact next command; list shows status too', async () => {
  const env = { NETKATA_PROGRESS_FILE: file };
  const count = (await listExercises()).length;
  let home = await netkata([], { env });
  expect(home.code).toBe(0);
  expect(home.stdout).toMatch(/^ {5}01-echo-server +Echo server +not run +not run$/m);
  expect(home.stdout).toMatch(
    new RegExp(
      `^0 of ${count} done\nnext: read exercises/01-echo-server/README\\.md, edit exercises/01-echo-server/src/main\\.ts, then run {2}npx netkata watch echo-server$`,
      'm',
    ),
  );
  // Not a terminal: plain text, no escapes.
  expect(home.stdout).not.toContain('\x1b');
  await recordResult(report('echo-server', 20, [1, 2, 3], 6), { kind: 'test', own: true, complete: true }, file);
  home = await netkata([], { env });
  expect(home.stdout).toMatch(/^ {2}· {2}01-echo-server +Echo server +3\/6 stages +not run$/m);
  expect(home.stdout).toMatch(/next: keep going on exercises\/01-echo-server\/src\/main\.ts: {2}npx netkata watch echo-server/);
  await recordResult(report('echo-server', 120, [1, 2, 3, 4, 5, 6], 6, 'pass'), { kind: 'test', own: true, complete: true }, file);
  expect((await netkata([], { env })).stdout).toMatch(/next: the visible tests pass: run the hidden suite, {2}npx netkata grade echo-server/);
  await recordResult(report('echo-server', 30, [1, 2], 6), { kind: 'grade', own: true, complete: true }, file);
  home = await netkata([], { env });
  expect(home.stdout).toMatch(/^ {2}· {2}01-echo-server +Echo server +pass +2\/6 stages, 30\/120$/m);
  expect(home.stdout).toMatch(/next: make stage 3 of echo-server pass \(npx netkata hint echo-server\), then run {2}npx netkata grade echo-server/);
  // A worse grade is the last one, not the best: both are shown.
  await recordResult(report('echo-server', 10, [1], 6), { kind: 'grade', own: true, complete: true }, file);
  home = await netkata([], { env });
  expect(home.stdout).toMatch(/ 2\/6 stages, 30\/120 \(last 10\/120\)$/m);
  expect(home.stdout).toMatch(/next: make stage 2 of echo-server pass/);
  await recordResult(report('echo-server', 120, [1, 2, 3, 4, 5, 6], 6, 'pass'), { kind: 'grade', own: true, complete: true }, file);
  home = await netkata([], { env });
  expect(home.stdout).toMatch(/^ {2}✓ {2}01-echo-server +Echo server +pass +done 120\/120$/m);
  expect(home.stdout).toMatch(new RegExp(`^1 of ${count} done\nnext: read exercises/02-framing/README\\.md`, 'm'));
  expect(home.stdout.split('\n').length).toBeLessThanOrEqual(24);
  expect(
    Math.max(
      ...home.stdout
        .split('\n')
        .filter((l) => !l.startsWith('next:'))
        .map((l) => l.length),
    ),
  ).toBeLessThanOrEqual(100);
  const list = await netkata(['list'], { env });
  expect(list.stdout).toMatch(/^01-echo-server .* done 120\/120$/m);
  expect(list.stdout).toMatch(/^02-framing .* not started$/m);
  // Columns line up whatever a title's length.
  expect(
    new Set(
      list.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.search(/(intro|easy|medium|hard) /)),
    ).size,
  ).toBe(1);
  const json = JSON.parse((await netkata(['list', '--json'], { env })).stdout);
  expect(json[0].progress).toMatchObject({ completed: true, grade: { best: { points: 120 }, last: { points: 120 } }, test: { last: { status: 'pass' } } });
  expect(json[1].progress).toBeNull();
});

test('the overview is coloured only when asked (a terminal), and the usage stays behind --help', async () => {
  process.env.NETKATA_PROGRESS_FILE = file;
  await recordResult(report('echo-server', 120, [1, 2, 3, 4, 5, 6], 6, 'pass'), { kind: 'grade', own: true, complete: true }, file);
  expect(await overview({ color: true })).toMatch(/ {2}\x1b\[32m✓ {2}01-echo-server .*\x1b\[0m/);
  expect(await overview({ color: false })).not.toContain('\x1b');
  const help = await netkata(['--help'], { env: { NETKATA_PROGRESS_FILE: file } });
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^Usage:\n {2}netkata {5,}your progress/m);
});

test("a grade of the learner's own folder is recorded; one of the reference solution is not", async () => {
  const env = { NETKATA_PROGRESS_FILE: file };
  await netkata(['test', 'echo-server', '--solution'], { env });
  expect((await loadProgress(file)).exercises).toEqual({});
  const own = await netkata(['test', 'echo-server'], { env });
  expect(own.code).toBe(1);
  expect((await loadProgress(file)).exercises['echo-server']?.test?.last).toMatchObject({ status: 'fail', points: 0 });
}, 60_000);

test('the reference copied into the exercise and graded: the overview shows it done and solution opens', async () => {
  const scratch = await scratchDir('netkata-done-');
  const exerciseDir = path.join(scratch, 'exercises', '01-echo-server');
  await cp(path.join(repoRoot, 'exercises', '01-echo-server'), exerciseDir, { recursive: true });
  await cp(path.join(repoRoot, 'solutions', '01-echo-server', 'src'), path.join(exerciseDir, 'src'), { recursive: true });
  const env = { NETKATA_PROGRESS_FILE: file, NETKATA_EXERCISES_DIR: path.join(scratch, 'exercises') };
  expect((await netkata(['solution', 'echo-server'], { env })).code).toBe(1);
  // The local runtime: the same path through grade and recordResult as Docker, in half the time.
  const graded = await netkata(['grade', 'echo-server', '--runtime', 'local'], { env });
  expect(graded.code, graded.stdout + graded.stderr).toBe(0);
  const home = await netkata([], { env });
  expect(home.stdout).toMatch(/^ {2}✓ {2}01-echo-server +Echo server +not run +done 120\/120$/m);
  expect(home.stdout).toMatch(/^1 of 1 done\nnext: every exercise is done/m);
  const open = await netkata(['solution', 'echo-server'], { env });
  expect(open.code).toBe(0);
  expect(open.stderr).toBe('');
  expect(open.stdout).toContain(await readFile(path.join(repoRoot, 'solutions', '01-echo-server', 'src', 'main.ts'), 'utf8'));
}, 240_000);

test('solution is locked until the hidden suite passed; --force shows it with a warning; then it opens', async () => {
  const env = { NETKATA_PROGRESS_FILE: file };
  const locked = await netkata(['solution', 'echo-server'], { env });
  expect(locked.code).toBe(1);
  expect(locked.stdout).toMatch(/opens once your exercise passes its hidden suite: run {2}npx netkata grade echo-server/);
  expect(locked.stdout).not.toContain('createServer');
  const forced = await netkata(['solution', 'echo-server', '--force'], { env });
  expect(forced.code).toBe(0);
  expect(forced.stderr).toMatch(/before your exercise passed \(--force\)/);
  expect(forced.stdout).toContain('--- src/main.ts');
  await recordResult(report('echo-server', 120, [1, 2, 3, 4, 5, 6], 6, 'pass'), { kind: 'grade', own: true, complete: true }, file);
  const open = await netkata(['solution', 'echo-server'], { env });
  expect(open.code).toBe(0);
  expect(open.stderr).toBe('');
  expect(open.stdout).toContain(await readFile(path.join(repoRoot, 'solutions', '01-echo-server', 'src', 'main.ts'), 'utf8'));
});

/** A scratch git checkout holding a committed copy of exercises/01-echo-server: reset never touches this checkout's exercises. */
async function scratchCheckout(): Promise<{ repo: string; src: string; env: NodeJS.ProcessEnv; git: (...args: string[]) => Promise<string> }> {
  const repo = await scratchDir('netkata-reset-');
  const git = async (...args: string[]) => (await promisify(execFile)('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo })).stdout;
  await cp(path.join(repoRoot, 'exercises', '01-echo-server'), path.join(repo, 'exercises', '01-echo-server'), { recursive: true });
  await git('init', '-q');
  await git('add', '.');
  await git('commit', '-qm', 'starter');
  return {
    repo,
    src: path.join(repo, 'exercises', '01-echo-server', 'src'),
    env: { NETKATA_PROGRESS_FILE: file, NETKATA_EXERCISES_DIR: path.join(repo, 'exercises') },
    git,
  };
}

const filesUnder = async (dir: string) =>
  (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();

test('reset off a terminal without --yes changes nothing and says to pass --yes', async () => {
  const { src, env } = await scratchCheckout();
  await writeFile(path.join(src, 'main.ts'), 'my work\n');
  const refused = await netkata(['reset', 'echo-server'], { env });
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/no terminal to ask on: pass --yes to confirm/);
  expect(await readFile(path.join(src, 'main.ts'), 'utf8')).toBe('my work\n');
});

test("reset --yes puts the committed starter back exactly and keeps the learner's src/, added files too, in .netkata/backups", async () => {
  const { repo, src, env, git } = await scratchCheckout();
  const starter = await readFile(path.join(src, 'main.ts'), 'utf8');
  await writeFile(path.join(src, 'main.ts'), 'my work\n');
  await writeFile(path.join(src, 'extra.ts'), 'added\n');
  await mkdir(path.join(src, 'lib'));
  await writeFile(path.join(src, 'lib', 'deep.ts'), 'deeper\n');
  const done = await netkata(['reset', 'echo-server', '--yes'], { env });
  expect(done.code, done.stderr).toBe(0);
  const backups = await readdir(path.join(repo, '.netkata', 'backups'));
  expect(backups).toHaveLength(1);
  expect(backups[0]).toMatch(/^echo-server-\d{4}-\d\d-\d\dT[\d-]+Z$/);
  const backup = path.join(repo, '.netkata', 'backups', backups[0]!);
  expect(done.stdout).toContain(`your files are in ${path.relative(repoRoot, backup)}`);
  // Exactly the committed folder: the learner's additions are gone from src/, and git sees no change.
  expect(await filesUnder(src)).toEqual(['main.ts']);
  expect(await readFile(path.join(src, 'main.ts'), 'utf8')).toBe(starter);
  expect(await git('status', '--porcelain', '--', 'exercises')).toBe('');
  expect(await filesUnder(backup)).toEqual(['extra.ts', path.join('lib', 'deep.ts'), 'main.ts']);
  expect(await readFile(path.join(backup, 'main.ts'), 'utf8')).toBe('my work\n');
  expect(await readFile(path.join(backup, 'lib', 'deep.ts'), 'utf8')).toBe('deeper\n');
});

test("reset on a terminal asks first: N keeps the learner's files, y puts the starter back", async () => {
  const { repo, src, env } = await scratchCheckout();
  const starter = await readFile(path.join(src, 'main.ts'), 'utf8');
  await writeFile(path.join(src, 'main.ts'), 'my work\n');
  // script(1) gives the CLI a pseudo-terminal, as a learner's shell does; the answer comes through it.
  const onTerminal = (answer: string) =>
    new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = execFile(
        'script',
        ['-qec', `${JSON.stringify(process.execPath)} bin/netkata.js reset echo-server`, '/dev/null'],
        { cwd: repoRoot, env: { ...process.env, ...env } },
        (error, stdout) =>
          error && typeof error.code !== 'number'
            ? reject(new Error(`script(1) did not run: ${error.message}`, { cause: error }))
            : resolve({ code: error ? Number(error.code) : 0, output: stdout }),
      );
      child.stdin!.end(answer);
    });
  const declined = await onTerminal('n\n');
  expect(declined.output).toMatch(
    /reset \S*exercises\/01-echo-server\/src to the starter\? your files go to \S*\.netkata\/backups\/echo-server-\S+ {2}\[y\/N\]/,
  );
  expect(declined.output).toMatch(/nothing changed/);
  expect(declined.code).toBe(0);
  expect(await readFile(path.join(src, 'main.ts'), 'utf8')).toBe('my work\n');
  const accepted = await onTerminal('y\n');
  expect(accepted.code, accepted.output).toBe(0);
  expect(accepted.output).toMatch(/is the starter again/);
  expect(await readFile(path.join(src, 'main.ts'), 'utf8')).toBe(starter);
  expect(await readdir(path.join(repo, '.netkata', 'backups'))).toHaveLength(1);
});

test('restoreCommitted keeps an executable bit and a symlink as committed, and refuses a folder git has nothing under', async () => {
  const { repo, src, git } = await scratchCheckout();
  await writeFile(path.join(src, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  await symlink('main.ts', path.join(src, 'alias.ts'));
  await git('add', '.');
  await git('commit', '-qm', 'more');
  await rm(src, { recursive: true });
  expect(await restoreCommitted(repo, src, path.join(repo, 'backup'))).toEqual([
    'exercises/01-echo-server/src/alias.ts',
    'exercises/01-echo-server/src/main.ts',
    'exercises/01-echo-server/src/run.sh',
  ]);
  expect((await stat(path.join(src, 'run.sh'))).mode & 0o111).toBe(0o111);
  expect(await readlink(path.join(src, 'alias.ts'))).toBe('main.ts');
  expect(await git('status', '--porcelain')).toBe('');
  await mkdir(path.join(repo, 'untracked', 'src'), { recursive: true });
  await expect(restoreCommitted(repo, path.join(repo, 'untracked', 'src'), path.join(repo, 'backup2'))).rejects.toThrow(ConfigError);
  // Nothing was removed when there was nothing to restore.
  expect(await readdir(path.join(repo, 'untracked'))).toEqual(['src']);
});

test('reset of an exercise outside a git checkout is refused in a line', async () => {
  const dir = await scratchDir('netkata-nogit-');
  await cp(path.join(repoRoot, 'exercises', '01-echo-server'), path.join(dir, 'exercises', '01-echo-server'), { recursive: true });
  const refused = await netkata(['reset', 'echo-server', '--yes'], {
    env: { NETKATA_PROGRESS_FILE: file, NETKATA_EXERCISES_DIR: path.join(dir, 'exercises'), GIT_CEILING_DIRECTORIES: os.tmpdir() },
  });
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/is not in a git checkout, and reset restores what git committed/);
  expect(await readdir(path.join(dir, 'exercises', '01-echo-server', 'src'))).toEqual(['main.ts']);
});

test("hint gives a stage's ladder one rung per call, --all at once, and names a bad stage", async () => {
  const env = { NETKATA_PROGRESS_FILE: file };
  const first = await netkata(['hint', 'echo-server'], { env });
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/^echo-server, stage 1: .* \(no grade yet: the first stage\)\n {2}1\/3 {2}Listen on 0\.0\.0\.0/);
  expect(first.stdout).toMatch(/2 more: run {2}npx netkata hint echo-server 1 {2}again/);
  const second = await netkata(['hint', 'echo-server'], { env });
  expect(second.stdout).toMatch(/ 1\/3 [\s\S]* 2\/3 {2}Use net\.createServer/);
  expect(second.stdout).not.toMatch(/ 3\/3 /);
  const all = await netkata(['hint', 'echo-server', '4', '--all'], { env });
  expect(all.stdout).toMatch(/ 3\/3 {2}man 2 shutdown/);
  expect(all.stdout).toMatch(/that is every hint for this stage/);
  const bad = await netkata(['hint', 'echo-server', '9'], { env });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/echo-server has no stage "9" \(it has stages 1 to 6\)/);
  // After a grade that passed stages 1-2, the hint is for stage 3.
  await recordResult(report('echo-server', 30, [1, 2], 6), { kind: 'grade', own: true, complete: true }, file);
  expect((await netkata(['hint', 'echo-server'], { env })).stdout).toMatch(/^echo-server, stage 3: .* \(the first stage your last grade did not pass\)/);
});

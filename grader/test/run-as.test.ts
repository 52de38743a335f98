// `--run-as USER` (the local runtime in an autograder's container, run as root: Gradescope): the
// submission runs as that user, so it cannot write the grader's results, read what is private to
// the grader, or see the grader's environment; and the grade says when the answers are readable.
// The checks are the kernel's: a probe submission reports what it could do, as the user. And
// Gradescope's run_autograder (adapters/gradescope/) run as Gradescope runs it, against a scratch /autograder.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findExercise } from '../src/catalog/catalog.ts';
import { readableBy } from '../src/runtime/local-user.ts';
import { repoRoot } from '../src/paths.ts';
import { fixture, netkata } from './helpers/cli.ts';
import { gradescopeResults } from './helpers/result-schemas.ts';

const RESULTS = '/tmp/netkata-run-as-results';
/** A root-only folder the probe tries to list. */
const PRIVATE = '/tmp/netkata-run-as-suite';
/** The hidden suite, copied where only root reads it; inside the checkout, so its imports resolve. */
const PRIVATE_SUITE = path.join(repoRoot, '.netkata', 'run-as-suite');
const nobody = {
  name: 'nobody',
  uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })),
  gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })),
};

/** Whether the kernel lets `nobody` into a folder (so to any file in it whose name it knows): the ground truth readableBy's mode bits must match. */
const kernelLets = (dir: string) =>
  spawnSync(process.execPath, ['-e', `const fs = require('node:fs'); fs.accessSync(${JSON.stringify(dir)}, fs.constants.X_OK)`], {
    uid: nobody.uid,
    gid: nobody.gid,
  }).status === 0;

async function gradeAsNobody(args: readonly string[]) {
  const result = await netkata(
    ['grade', 'echo-server', '--runtime', 'local', '--run-as', 'nobody', '-t', 'echoes one message back', '--reporter', 'json', ...args],
    {
      env: { NETKATA_RUN_AS_SECRET: 'the grader environment' },
    },
  );
  return { ...result, report: result.stdout ? JSON.parse(result.stdout) : undefined };
}

beforeAll(async () => {
  await rm(RESULTS, { recursive: true, force: true });
  await rm(PRIVATE_SUITE, { recursive: true, force: true });
  await rm(PRIVATE, { recursive: true, force: true });
  // A results folder as Gradescope's (root's, 0755), a folder only root reads, the hidden suite copied where only root reads it.
  await mkdir(RESULTS, { mode: 0o755 });
  await mkdir(PRIVATE, { mode: 0o700 });
  await cp(`${repoRoot}/grader/suites/echo-server`, PRIVATE_SUITE, { recursive: true });
  await chmod(PRIVATE_SUITE, 0o700);
});

afterAll(async () => {
  await rm(RESULTS, { recursive: true, force: true });
  await rm(PRIVATE, { recursive: true, force: true });
  await rm(PRIVATE_SUITE, { recursive: true, force: true });
});

describe('--run-as', () => {
  test("the submission runs as the user: it cannot write the results, read a private folder or see the grader's environment", async () => {
    const { code, report } = await gradeAsNobody(['--submission', fixture('echo-server', 'run-as-probe')]);
    expect(code).toBe(1);
    const [probe] = report.tests;
    expect(probe.status).toBe('failed');
    expect(`${probe.error}\n${probe.transcript}`).toContain(`uid=${nobody.uid} write=EACCES read=EACCES secret=absent`);
    await expect(stat(`${RESULTS}/results.json`)).rejects.toThrow(/ENOENT/);
  });

  test('the reference passes as the user; the grade says which answers the user could read', async () => {
    const { code, report } = await gradeAsNobody(['--solution', '--suite', PRIVATE_SUITE]);
    expect(code).toBe(0);
    expect(report.status).toBe('pass');
    const notices: string[] = report.notices;
    expect(notices.some((n) => n.includes('hidden suite'))).toBe(false);
    const solution = (await findExercise('echo-server')).solutionDir;
    expect(notices.some((n) => n.includes(`reference solution at ${solution} is readable by nobody`))).toBe(kernelLets(solution));
  });

  test('what the submission left running, even in a session of its own, ends with the grade', async () => {
    const { code, report, stderr } = await gradeAsNobody(['--submission', fixture('hostile', 'leaves-a-daemon')]);
    expect(code, stderr).toBe(0);
    expect(report.status).toBe('pass');
    // Every process of the user, from the kernel's table.
    const left: string[] = [];
    for (const pid of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      if (new RegExp(`^Uid:\\s+${nobody.uid}\\s`, 'm').test(status)) left.push(`${pid}: ${/^Name:\s+(.*)$/m.exec(status)?.[1]}`);
    }
    expect(left, "processes of the submission's user after the grade").toEqual([]);
  });

  test('readableBy agrees with the kernel', async () => {
    // A folder others may pass through but not list: its files are as readable as their names are known.
    const passThrough = await mkdtemp(path.join(os.tmpdir(), 'netkata-run-as-0711-'));
    await chmod(passThrough, 0o711);
    for (const dir of [PRIVATE, PRIVATE_SUITE, RESULTS, passThrough, repoRoot, '/root', '/tmp', '/no/such/folder'])
      expect(await readableBy(dir, nobody), dir).toBe(kernelLets(dir));
    expect(await readableBy(passThrough, nobody)).toBe(true);
    await rm(passThrough, { recursive: true });
  });

  test("Gradescope's run_autograder: results.json in Gradescope's shape, exit 0, the source made root's alone", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'netkata-autograder-'));
    try {
      await mkdir(path.join(root, 'source'), { recursive: true });
      // The repository as the zip's netkata/: a link, which chmod -R passes over, so this checkout keeps its modes.
      await symlink(repoRoot, path.join(root, 'source', 'netkata'));
      await writeFile(path.join(root, 'source', 'exercise'), 'echo-server\n');
      await cp(fixture('echo-server', 'syntax-error'), path.join(root, 'submission'), { recursive: true });
      const ran = spawnSync(path.join(repoRoot, 'adapters', 'gradescope', 'run_autograder'), [], {
        env: { ...process.env, NETKATA_AUTOGRADER_ROOT: root, NETKATA_RUN_AS: 'nobody' },
        encoding: 'utf8',
      });
      expect(ran.status, ran.stderr).toBe(0);
      const results = gradescopeResults.parse(JSON.parse(await readFile(path.join(root, 'results', 'results.json'), 'utf8')));
      expect(results.score).toBe(0);
      expect(results.output).toContain('The submission does not build');
      expect(results.tests.map((t) => t.output)).toEqual(Array(6).fill('Not run: the submission does not build.'));
      expect(results.tests.reduce((sum, t) => sum + t.max_score, 0)).toBe(120);
      expect((await stat(path.join(root, 'source'))).mode & 0o077).toBe(0);
      expect(kernelLets(path.join(root, 'source'))).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('refused: root, a user this machine does not have', async () => {
    const root = await netkata(['grade', 'echo-server', '--solution', '--runtime', 'local', '--run-as', 'root']);
    expect(root.code).toBe(2);
    expect(root.stderr).toContain('--run-as root is root: name an unprivileged user');
    const missing = await netkata(['grade', 'echo-server', '--solution', '--runtime', 'local', '--run-as', 'no-such-user-here']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--run-as no-such-user-here: this machine has no such user');
  });
});

// The learner's loop: `netkata test --watch` runs the visible tests again when the code changes.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { repoRoot } from '../src/paths.ts';
import { netkata } from './helpers/cli.ts';

test('test --watch reruns when a source file changes and stops cleanly on Ctrl-C', async () => {
  const work = await mkdtemp(path.join(os.tmpdir(), 'netkata-watch-'));
  const submission = path.join(work, 'echo');
  await cp(path.join(repoRoot, 'exercises', '01-echo-server'), submission, { recursive: true });
  let stdout = '';
  const result = await netkata(['test', 'echo-server', '--submission', submission, '--watch'], {
    signalAfter: (child) => {
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      void (async () => {
        while (!/(PASS|FAIL) /.test(stdout)) await sleep(100);
        expect(stdout).toMatch(/FAIL /); // the starter
        // The learner writes the solution: the next run passes.
        await writeFile(path.join(submission, 'src', 'main.ts'), await readFile(path.join(repoRoot, 'solutions', '01-echo-server', 'src', 'main.ts')));
        while (!/PASS /.test(stdout)) await sleep(100);
        child.kill('SIGINT');
      })();
    },
  });
  expect(stdout.match(/(PASS|FAIL) \d+\/\d+ points/g)).toEqual([expect.stringMatching(/^FAIL/), expect.stringMatching(/^PASS/)]);
  expect(result.code).toBe(130);
}, 120_000);

test('watch falls back to polling when asked, takes keys from a piped stdin (l lists, q quits)', async () => {
  const work = await mkdtemp(path.join(os.tmpdir(), 'netkata-watch-'));
  const submission = path.join(work, 'echo');
  await cp(path.join(repoRoot, 'exercises', '01-echo-server'), submission, { recursive: true });
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'netkata.js'), 'watch', 'echo-server', '--submission', submission], {
    cwd: repoRoot,
    env: { ...process.env, NETKATA_WATCH: 'poll' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  const until = async (what: () => boolean) => {
    while (!what()) await sleep(100);
  };
  await until(() => /FAIL /.test(stdout));
  expect(stderr).toMatch(/file watching is not available \(NETKATA_WATCH=poll\): checking for changes every 500 ms instead/);
  await until(() => /keys: h hint · g grade in Docker · l list · r run again · q quit/.test(stderr));
  await writeFile(path.join(submission, 'src', 'main.ts'), await readFile(path.join(repoRoot, 'solutions', '01-echo-server', 'src', 'main.ts')));
  await until(() => /PASS /.test(stdout));
  child.stdin.write('l\n');
  await until(() => /02-framing/.test(stdout));
  child.stdin.write('q\n');
  expect(await closed).toBe(0);
}, 120_000);

// The learner's loop: `netkata test --watch` runs the visible tests again when the code changes.
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
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
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

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { findExercise } from '../src/catalog/catalog.ts';
import { repoRoot } from '../src/paths.ts';
import { loopbackBrowser } from './helpers/browser.ts';
import { netkata } from './helpers/cli.ts';

// A workshop end to end, as a facilitator and two teams run it: `workshop serve` in a scratch
// folder, `netkata submit` from each team, the board open in a real headless browser (Debian's
// chromium, driven by playwright-core). Grades run in Docker, as every workshop grade does.
// The browser is kept on loopback by configuration: every request that is not to the server
// goes to a proxy address where nothing listens.

let dir: string;
let browser: Browser;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-workshop-e2e-'));
  browser = await loopbackBrowser();
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly admin: string;
  readonly tokens: Record<string, string>;
  readonly stdout: () => string;
}

/** `workshop serve` as a child process; resolves once it has printed where it is. */
function serve(): Promise<Served> {
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'bin', 'netkata.js'),
      'workshop',
      'serve',
      '--dir',
      dir,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--teams',
      'alpha,beta',
      '--exercises',
      'echo-server',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`workshop serve exited ${code}: ${err}`)));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!out.includes('Ctrl-C stops')) return;
      const url = /board: +(http:\/\/\S+)\//.exec(out)![1]!;
      const admin = /admin token: (\S+)/.exec(out)![1]!;
      const tokens = Object.fromEntries([...out.matchAll(/--team (\S+) --token (\S+)/g)].map((m) => [m[1]!, m[2]!]));
      resolve({ child, url, admin, tokens, stdout: () => out });
    });
  });
}

async function stop(served: Served): Promise<void> {
  const exited = new Promise((resolve) => served.child.once('exit', resolve));
  served.child.kill('SIGINT');
  await exited;
}

test('two teams submit, the open board shows them live, rounds change it, a restart keeps it, bad uploads change nothing', async () => {
  const echo = await findExercise('echo-server');
  const max = echo.manifest.stages.reduce((sum, s) => sum + s.points, 0);
  let served = await serve();
  expect(Object.keys(served.tokens).sort()).toEqual(['alpha', 'beta']);
  // A clean round, so that the grades here are quick; the command reaches the running server.
  const round = await netkata(['workshop', 'round', 'clean', '--dir', dir]);
  expect(round.stdout).toMatch(/round 2 started: every grade from now runs under clean/);

  const page = await browser.newPage();
  await page.goto(`${served.url}/`);
  await expect.poll(() => page.textContent('#conn')).toBe('live');
  await page.evaluate(() => ((globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true));
  expect(await page.textContent('#round')).toContain('round 2 · clean');

  const submit = (team: string, folder: string, token = served.tokens[team]!) =>
    netkata(['submit', 'echo-server', '--to', served.url, '--team', team, '--token', token, '--submission', folder]);
  const [alpha, beta] = await Promise.all([submit('alpha', echo.solutionDir), submit('beta', echo.exerciseDir)]);
  expect(alpha.code, alpha.stderr).toBe(0);
  expect(alpha.stdout).toContain(`${max}/${max}`);
  expect(beta.code, beta.stderr).toBe(1);
  expect(beta.stderr).toMatch(/uploaded .* as submission #\d+/);

  const points = (team: string) => page.textContent(`tr[data-team="${team}"] td[data-role="points"]`);
  await expect.poll(() => points('alpha'), { timeout: 10_000 }).toBe(String(max));
  await expect.poll(() => points('beta'), { timeout: 10_000 }).toBe('0');
  expect(await page.getAttribute('tr[data-team="alpha"] .cell', 'class')).toMatch(/pass first/);
  expect(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
  const boardBefore = (await (await fetch(`${served.url}/api/board?round=2`)).json()) as { rows: Array<{ team: string }> };

  // Bad input: refused with its reason, and nothing changes.
  const wrong = await submit('alpha', echo.solutionDir, 'not-the-token');
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toMatch(/refused the upload \(401\): the token for team alpha is missing or wrong/);
  // An upload declared over the limit is refused before its body is read (so the test sends none:
  // the server closes the connection after its answer, and a client still writing would see EPIPE).
  const oversized = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request(`${served.url}/api/submissions?exercise=echo-server`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${served.tokens.beta}`,
        'x-netkata-team': 'beta',
        'content-type': 'application/gzip',
        'content-length': 9 * 1024 * 1024,
      },
    });
    request.once('response', (response) => {
      let body = '';
      response.on('data', (c: Buffer) => (body += c.toString()));
      response.once('end', () => (resolve({ status: response.statusCode ?? 0, body }), request.destroy()));
    });
    request.once('error', reject);
    request.flushHeaders();
  });
  expect(oversized.status).toBe(413);
  expect((JSON.parse(oversized.body) as { error: string }).error).toMatch(/over the limit of 8 MiB/);
  const big = await mkdtemp(path.join(dir, 'big-'));
  await writeFile(path.join(big, 'data.bin'), randomBytes(9 * 1024 * 1024));
  const tooBig = await submit('beta', big);
  expect(tooBig.code).toBe(2);
  expect(tooBig.stderr).toMatch(/over the upload limit of 8\.0 MiB/);
  expect(await (await fetch(`${served.url}/api/board?round=2`)).json()).toEqual(boardBefore);

  // A chaos round: the open board moves to it, empty; round 2 keeps its results.
  expect((await netkata(['workshop', 'round', 'chaos', '--dir', dir])).code).toBe(0);
  await expect.poll(() => page.textContent('#round'), { timeout: 10_000 }).toContain('round 3 · chaos');
  await expect.poll(() => points('alpha')).toBe('0');

  // A late team, added while the server runs: on the open board at once, its join command kept once.
  const late = await netkata(['workshop', 'team', 'add', 'gamma', '--dir', dir]);
  expect(late.stdout).toMatch(new RegExp(`team gamma added\\ngamma: npx netkata submit --to ${served.url} --team gamma --token \\S{24}`));
  await expect.poll(() => page.locator('tr[data-team="gamma"]').count(), { timeout: 10_000 }).toBe(1);
  const joins = await readFile(path.join(dir, 'join-commands.txt'), 'utf8');
  expect(joins.match(/^(alpha|beta|gamma): npx netkata submit/gm)).toEqual([
    'alpha: npx netkata submit',
    'beta: npx netkata submit',
    'gamma: npx netkata submit',
  ]);

  // A restart: the same folder, the same board.
  await stop(served);
  served = await serve();
  expect(served.stdout()).toMatch(/team alpha: registered earlier, its token unchanged/);
  const boardAfter = (await (await fetch(`${served.url}/api/board?round=2`)).json()) as typeof boardBefore;
  expect(boardAfter.rows.filter((r) => r.team !== 'gamma')).toEqual(boardBefore.rows);
  await page.goto(`${served.url}/?round=2`);
  await expect.poll(() => points('alpha'), { timeout: 10_000 }).toBe(String(max));
  expect(await points('beta')).toBe('0');
  await stop(served);
});

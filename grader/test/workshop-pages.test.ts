import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loopbackBrowser } from './helpers/browser.ts';
import { standInReport } from './helpers/stand-in-report.ts';
import { packSubmission } from '../src/workshop/archive.ts';
import { GradeQueue } from '../src/workshop/queue.ts';
import { ADMIN_DIGEST, buildWorkshopServer } from '../src/workshop/server.ts';
import { WorkshopStore } from '../src/workshop/store.ts';
import { tokenDigest } from '../src/workshop/tokens.ts';

// The team's page and the facilitator's page in a real browser, against the workshop server
// with a stand-in grader (the sandboxed grade is workshop-e2e's). Loopback only: every other
// request goes to a proxy address where nothing listens.

let dir: string;
let browser: Browser;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-workshop-pages-'));
  browser = await loopbackBrowser();
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

test("a team's page shows its own reports, the admin page starts a round, a client that drops mid-upload changes nothing", async () => {
  const store = WorkshopStore.open(path.join(dir, 'ws'));
  store.setMeta(ADMIN_DIGEST, tokenDigest('admin-secret'));
  store.putTeam('alpha', 'token-a');
  const queue = new GradeQueue(store, async () => standInReport('echo-server', 4, 10, [4]));
  const app = await buildWorkshopServer({
    store,
    queue,
    exercises: [{ id: 'echo-server', title: 'Echo server', maxPoints: 10, stageCount: 1 }],
    title: 'Pages',
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const base = `http://127.0.0.1:${port}`;
  queue.start();
  try {
    // A client that promises 100 kB and leaves after 10 bytes.
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(
          'POST /api/submissions?exercise=echo-server HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer token-a\r\nX-Netkata-Team: alpha\r\nContent-Type: application/gzip\r\nContent-Length: 100000\r\n\r\n0123456789',
        );
        setTimeout(() => (socket.destroy(), resolve()), 200);
      });
    });
    expect(store.submissions()).toEqual([]);

    const source = await mkdtemp(path.join(dir, 'src-'));
    await writeFile(path.join(source, 'main.ts'), 'export {}\n');
    const posted = await fetch(`${base}/api/submissions?exercise=echo-server`, {
      method: 'POST',
      headers: { authorization: 'Bearer token-a', 'x-netkata-team': 'alpha', 'content-type': 'application/gzip' },
      body: await packSubmission(source),
    });
    expect(posted.status).toBe(202);

    const page = await browser.newPage();
    await page.goto(`${base}/team/alpha#token=token-a`);
    await expect.poll(() => page.textContent('#list'), { timeout: 10_000 }).toContain('fail, 4/10 points');
    expect(await page.textContent('#list pre')).toMatch(/FAIL 4\/10 points/);
    // The token left the address bar (it stays in the tab's session storage).
    expect(page.url()).toBe(`${base}/team/alpha`);
    const wrong = await browser.newPage();
    await wrong.goto(`${base}/team/alpha#token=not-it`);
    await expect.poll(() => wrong.textContent('#problem'), { timeout: 10_000 }).toMatch(/token for team alpha is missing or wrong/);
    expect(await wrong.textContent('#list')).toBe('');

    const admin = await browser.newPage();
    await admin.goto(`${base}/admin#token=admin-secret`);
    await expect.poll(() => admin.textContent('#round')).toContain('round 1');
    await admin.selectOption('#profile', 'lossy');
    await admin.click('#start-round');
    await expect.poll(() => admin.textContent('#round'), { timeout: 10_000 }).toContain('round 2 · lossy');
    expect(store.currentRound()?.profile).toBe('lossy');
    await admin.fill('#team', 'beta');
    await admin.click('#add-team');
    await expect.poll(() => admin.textContent('#join')).toMatch(/netkata submit --to http:\/\/127\.0\.0\.1:\d+ --team beta --token \S{24}/);
    expect(store.teams()).toEqual(['alpha', 'beta']);
  } finally {
    queue.stop();
    await app.close();
    store.close();
  }
});

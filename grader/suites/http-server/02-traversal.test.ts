import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { exchange, expectStatus, get, PUBLIC, SECRET, servedTree, type Response } from './http.ts';

// Stage 2: no byte of any file outside FILES_DIR, whatever the target says. The folder served
// is public/; secret.txt lies beside it, and public/ holds links that lead out (leak.txt ->
// ../secret.txt, outside -> .., etc -> /etc).
const server = useSubmission({ files: servedTree(), filesRoot: PUBLIC });

function expectRefused(response: Response, target: string): void {
  expectStatus(response, [400, 403, 404], `GET ${target} reaches outside FILES_DIR`);
  const body = response.body.toString('latin1');
  expect(body.includes(SECRET.toString('latin1').trim()), `GET ${target} served secret.txt, which lies outside FILES_DIR`).toBe(false);
  expect(/root:.*:0:0:/.test(body), `GET ${target} served /etc/passwd`).toBe(false);
}

test('dot-dot in every spelling: plain, percent-encoded, with encoded slashes, after a folder', stage(2, 3), async () => {
  const targets = [
    '/../secret.txt',
    '/docs/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/.%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/docs/..%2f..%2fsecret.txt',
    '/docs/%2e%2e/%2e%2e/secret.txt',
    '/docs%2f..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/../../../../../../etc/passwd',
    '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    'http://netkata.test/../secret.txt',
  ];
  for (const target of targets) {
    await using conn = await server.connect();
    expectRefused(await exchange(conn, get(target)), target);
  }
});

test('symbolic links that lead out of the folder are not followed out', stage(2, 2), async () => {
  for (const target of ['/leak.txt', '/docs/leak', '/outside/secret.txt', '/etc/passwd', '/etc/hostname']) {
    await using conn = await server.connect();
    expectRefused(await exchange(conn, get(target)), target);
  }
});

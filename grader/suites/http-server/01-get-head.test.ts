import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { exchange, expectFile, expectStatus, FILES, get, header, HELLO, INDEX_HTML, PUBLIC, request, servedTree, TYPES } from './http.ts';

// Stage 1: GET and HEAD of files, one request per connection (keep-alive is stage 2's).
const server = useSubmission({ files: servedTree(), filesRoot: PUBLIC });

/** One request on a connection of its own. */
async function once(data: Buffer) {
  await using conn = await server.connect();
  return await exchange(conn, data);
}

test('GET / serves index.html with Content-Length, Content-Type and a Date of now', stage(1, 3), async () => {
  const before = Date.now();
  const response = await once(get('/'));
  expectFile(response, INDEX_HTML, 'text/html');
  expect(response.version, 'the status line starts with HTTP/1.1').toBe('HTTP/1.1');
  const date = header(response, 'date');
  expect(date, 'a Date header (RFC 9110 §6.6.1)').toBeDefined();
  expect(date!, 'Date in IMF-fixdate form, e.g. "Sun, 06 Nov 1994 08:49:37 GMT"').toMatch(
    /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  );
  // The container shares this machine's clock; a second of rounding either way, and slack.
  expect(Math.abs(Date.parse(date!) - before), `Date ${date} is now`).toBeLessThan(5_000);
});

test('every file comes whole, with the Content-Type of its extension', stage(1, 3), async () => {
  for (const [name, type] of Object.entries(TYPES)) {
    expectFile(await once(get(`/${name}`)), FILES[name]!, type);
  }
  // An empty file is a 200 with Content-Length: 0.
  expectFile(await once(get('/empty.txt')), Buffer.alloc(0));
});

test('a folder: /docs/ serves its index.html, /docs redirects to /docs/, and a folder without one is 404', stage(1, 2), async () => {
  expectFile(await once(get('/docs/')), FILES['docs/index.html']!, 'text/html');
  expectFile(await once(get('/nested/deeper/file.txt')), FILES['nested/deeper/file.txt']!, 'text/plain');
  const moved = await once(get('/docs'));
  expectStatus(moved, 301, 'GET /docs names a folder without its slash');
  expect(header(moved, 'location'), 'Location of the 301').toMatch(/^(http:\/\/[^/]+)?\/docs\/$/);
  expectStatus(await once(get('/bare/')), 404, 'GET /bare/: a folder without index.html (no listings)');
});

test('HEAD answers with the same head as GET, and no body', stage(1, 2), async () => {
  await using conn = await server.connect();
  const head = await exchange(conn, request('HEAD', '/hello.txt'));
  expect(head.status, `HEAD /hello.txt:\n${head.head}`).toBe(200);
  expect(header(head, 'content-length'), "HEAD's Content-Length is the file's").toBe(String(HELLO.length));
  expect(header(head, 'content-type')).toMatch(/^text\/plain/);
  // A body would follow the head at once; nothing may.
  await sleep(300);
  expect(conn.unreadBytes, 'bytes after the head of a HEAD response (it has no body)').toBe(0);
});

test('a missing file is 404, with a body as long as its Content-Length', stage(1, 3), async () => {
  for (const target of ['/nope.txt', '/docs/nope', '/nested/nope/file.txt']) {
    const response = await once(get(target));
    expectStatus(response, 404, `GET ${target}`);
    expect(response.body.length, 'a 404 says why in a body').toBeGreaterThan(0);
  }
  const head = await once(request('HEAD', '/nope.txt'));
  expectStatus(head, 404, 'HEAD /nope.txt');
});

test('other methods: 405 with Allow: GET, HEAD for the ones HTTP defines, 501 for unknown ones', stage(1, 2), async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const response = await once(request(method, '/hello.txt', { 'Content-Length': '0' }));
    expectStatus(response, 405, `${method} /hello.txt`);
    const allow = (header(response, 'allow') ?? '').split(',').map((m) => m.trim());
    expect(allow.sort(), `the 405's Allow header lists what is served`).toEqual(['GET', 'HEAD']);
  }
  expectStatus(await once(request('BREW', '/hello.txt')), 501, 'BREW /hello.txt (a method no server knows)');
});

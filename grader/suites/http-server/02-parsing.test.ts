import { expect, test } from 'vitest';
import { pieceSizes, stage, useSubmission } from 'netkata/harness';
import {
  exchange,
  expectClosedAfter,
  expectFile,
  expectStatus,
  FILES,
  get,
  header,
  HELLO,
  INDEX_HTML,
  PUBLIC,
  readResponse,
  request,
  servedTree,
} from './http.ts';

// Stage 2: parsing that holds however TCP cuts the bytes, keep-alive and pipelining, the
// limits, and malformed requests. The limits are the README's: a request line of 8,192 bytes, a
// header section of 16,384 bytes or 100 fields, a dropped body of 1 MiB.
const server = useSubmission({ files: servedTree(), filesRoot: PUBLIC });

test('a request written one byte at a time, then in random pieces, is answered once', stage(2, 3), async () => {
  await using conn = await server.connect();
  const data = get('/hello.txt', { 'User-Agent': 'netkata', Accept: '*/*' });
  await conn.writeInPieces(data, new Array(data.length).fill(1));
  expectFile(await readResponse(conn, { what: 'GET /hello.txt (sent a byte at a time)' }), HELLO, 'text/plain');
  const second = get('/index.html', { Accept: 'text/html' });
  await conn.writeInPieces(second, pieceSizes(second.length, 1, 7, 21));
  expectFile(await readResponse(conn, { what: 'GET /index.html (random pieces)' }), INDEX_HTML, 'text/html');
});

test('keep-alive by default in HTTP/1.1: ten requests on one connection', stage(2, 2), async () => {
  await using conn = await server.connect();
  for (let i = 0; i < 10; i++) {
    const name = i % 2 === 0 ? 'hello.txt' : 'data.json';
    const response = await exchange(conn, get(`/${name}`));
    expectFile(response, FILES[name]!);
    expect(header(response, 'connection')?.toLowerCase(), `response ${i + 1} of 10 closes a keep-alive connection`).not.toBe('close');
  }
});

test('pipelined requests in one write are answered in order, HEADs and 404s among them', stage(2, 4), async () => {
  await using conn = await server.connect();
  const names = ['hello.txt', 'index.html', 'nope.txt', 'style.css', 'data.json', 'docs/guide.txt', 'app.js', 'README'];
  const plan = Array.from({ length: 24 }, (_, i) => ({ name: names[i % names.length]!, head: i % 5 === 3 }));
  await conn.write(Buffer.concat(plan.map((p) => request(p.head ? 'HEAD' : 'GET', `/${p.name}`))));
  for (const [i, p] of plan.entries()) {
    const what = `request ${i + 1} of ${plan.length} (${p.head ? 'HEAD' : 'GET'} /${p.name}), sent together in one write`;
    const response = await readResponse(conn, { what, head: p.head });
    const file = FILES[p.name];
    if (!file) expectStatus(response, 404, what);
    else if (p.head) expect(header(response, 'content-length'), `${what}: Content-Length`).toBe(String(file.length));
    else expectFile(response, file);
  }
});

test('Connection: close is honoured, and HTTP/1.0 closes after its answer', stage(2, 2), async () => {
  {
    await using conn = await server.connect();
    const response = await exchange(conn, get('/hello.txt', { Connection: 'close' }));
    expectFile(response, HELLO);
    await expectClosedAfter(conn, response, 'GET with Connection: close');
  }
  {
    await using conn = await server.connect();
    const response = await exchange(conn, request('GET', '/hello.txt', {}, { version: 'HTTP/1.0', host: null }));
    expectFile(response, HELLO);
    // HTTP/1.0 without keep-alive: the server closes, and the client may read to the end.
    await conn.expectClosed(3_000).catch((error: Error) => {
      throw new Error(`an HTTP/1.0 request was answered, but the connection stayed open: ${error.message}`);
    });
  }
});

/** Each on a connection of its own: the status it must get, and the server closes after it. */
const BROKEN: ReadonlyArray<{ bytes: string; status: number | number[]; why: string }> = [
  { bytes: 'GET /hello.txt\r\n\r\n', status: 400, why: 'a request line without a version' },
  { bytes: 'GET  /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n', status: 400, why: 'two spaces in the request line' },
  { bytes: 'GET /hello.txt HTTP/1.1 extra\r\nHost: x\r\n\r\n', status: 400, why: 'four parts in the request line' },
  { bytes: 'G@T /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n', status: 400, why: 'a method that is not a token' },
  { bytes: 'GET /hello.txt HTTP/1.1\r\n\r\n', status: 400, why: 'HTTP/1.1 without Host' },
  { bytes: 'GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', status: 400, why: 'two Host fields' },
  { bytes: 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n', status: 400, why: 'a header line without a colon' },
  { bytes: 'GET /hello.txt HTTP/1.1\r\nHost : x\r\n\r\n', status: 400, why: 'whitespace between a field name and its colon' },
  { bytes: 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n', status: 400, why: 'a folded header line (obs-fold)' },
  { bytes: 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', status: 400, why: 'a Content-Length that is not a number' },
  { bytes: 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', status: 400, why: 'two different Content-Lengths' },
  { bytes: 'GET /hello.txt HTTP/2.0\r\nHost: x\r\n\r\n', status: 505, why: 'a version other than HTTP/1.0 and 1.1' },
  { bytes: 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n', status: 413, why: 'a body of 2,000,000 bytes (the limit is 1 MiB)' },
];

test('malformed requests get 400 (505, 413 where they apply), and the server closes after', stage(2, 3), async () => {
  for (const broken of BROKEN) {
    await using conn = await server.connect();
    await conn.write(broken.bytes);
    const response = await readResponse(conn, { what: `a request with ${broken.why}` });
    expectStatus(response, broken.status, `a request with ${broken.why}: ${JSON.stringify(broken.bytes)}`);
    await expectClosedAfter(conn, response, `after the ${response.status} for ${broken.why}`);
  }
});

test('a request body is read past by its Content-Length: a POST and the GET after it', stage(2, 1), async () => {
  await using conn = await server.connect();
  const body = 'GET /secret HTTP/1.1\r\nHost: smuggled\r\n\r\n'.repeat(3);
  await conn.write(Buffer.concat([request('POST', '/hello.txt', { 'Content-Length': String(body.length) }, { body }), get('/hello.txt')]));
  expectStatus(await readResponse(conn, { what: 'POST /hello.txt with a body' }), 405, 'POST with a body');
  // The body's bytes are not a request: the next answer is the GET's.
  expectFile(await readResponse(conn, { what: 'the GET after the POST and its body' }), HELLO);
});

test('limits: 414 past 8,192 bytes of request line, 431 past 16,384 bytes or 100 header fields', stage(2, 2), async () => {
  const cases: ReadonlyArray<{ bytes: Buffer; status: number; why: string }> = [
    { bytes: get(`/${'a'.repeat(9_000)}`), status: 414, why: 'a 9,000-byte target' },
    {
      bytes: get('/x', Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`X-Big-${i}`, 'v'.repeat(200)]))),
      status: 431,
      why: '100 fields of 200 bytes (20 KB)',
    },
    { bytes: get('/x', Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`X-${i}`, '1']))), status: 431, why: '121 header fields' },
  ];
  for (const c of cases) {
    await using conn = await server.connect();
    await conn.write(c.bytes);
    const response = await readResponse(conn, { what: `a request with ${c.why}` });
    expectStatus(response, c.status, `a request with ${c.why}`);
    await expectClosedAfter(conn, response, `after the ${c.status}`);
  }
  // Under the limits: answered as usual.
  await using conn = await server.connect();
  expectStatus(await exchange(conn, get(`/${'b'.repeat(4_000)}`)), 404, 'a 4,000-byte target (under the limit) for no file');
  const many = Object.fromEntries(Array.from({ length: 98 }, (_, i) => [`X-${i}`, 'v'.repeat(100)]));
  expectFile(await exchange(conn, get('/hello.txt', many)), HELLO);
});

test('targets: percent-decoding, a query, the absolute form; 400 for a broken escape, a NUL or invalid UTF-8', stage(2, 2), async () => {
  await using conn = await server.connect();
  const served: ReadonlyArray<[string, string]> = [
    ['/a%20b.txt', 'a b.txt'],
    ['/caf%C3%A9.txt', 'caf\u00e9.txt'],
    ['/100%25.txt', '100%.txt'],
    ['/%68%65llo.txt', 'hello.txt'],
    ['/hello.txt?v=1&x=%zz', 'hello.txt'],
    ['/docs//guide.txt', 'docs/guide.txt'],
    ['/./docs/./guide.txt', 'docs/guide.txt'],
    ['http://netkata.test/hello.txt', 'hello.txt'],
  ];
  for (const [target, name] of served) expectFile(await exchange(conn, get(target)), FILES[name]!);
  for (const target of ['/%zz.txt', '/hello%2', '/%00hello.txt', '/caf%C3%28.txt', 'hello.txt']) {
    await using bad = await server.connect();
    expectStatus(await exchange(bad, get(target)), 400, `GET ${target}`);
  }
});

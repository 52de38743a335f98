import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import {
  BIG_BYTES,
  exchange,
  expectFile,
  expectStatus,
  FILES,
  get,
  header,
  HELLO,
  LAST_MODIFIED,
  patternBytes,
  PUBLIC,
  readResponse,
  request,
  servedTree,
  type Response,
} from './http.ts';

// Stage 3: byte ranges (RFC 9110 §14) and conditional requests (§13), on big.bin (4 MiB) and
// hello.txt. One Range only: a header that asks for several, or does not parse, is answered
// with the whole file (the README says so; multipart answers are not asked for).
const server = useSubmission({ files: servedTree(), filesRoot: PUBLIC });

function expectPart(response: Response, start: number, end: number, size: number, what: string): void {
  expect(response.status, `${what}: expected 206 Partial Content:\n${response.head}`).toBe(206);
  expect(header(response, 'content-range'), `${what}: Content-Range`).toBe(`bytes ${start}-${end}/${size}`);
  expect(header(response, 'content-length'), `${what}: Content-Length`).toBe(String(end - start + 1));
  expect(response.body.equals(patternBytes(start, end)), `${what}: the body is bytes ${start}-${end} of the file`).toBe(true);
}

test('Range: first bytes, a middle span, an open end, a suffix, an end past the file', stage(3, 3), async () => {
  await using conn = await server.connect();
  const whole = await exchange(conn, request('HEAD', '/big.bin'));
  expect(header(whole, 'accept-ranges'), 'a 200 for a file says Accept-Ranges: bytes').toBe('bytes');
  const last = BIG_BYTES - 1;
  const cases: ReadonlyArray<[string, number, number]> = [
    ['bytes=0-99', 0, 99],
    ['bytes=3000000-3099999', 3_000_000, 3_099_999],
    [`bytes=${BIG_BYTES - 1000}-`, BIG_BYTES - 1000, last],
    ['bytes=-500', BIG_BYTES - 500, last],
    [`bytes=${BIG_BYTES - 10}-${BIG_BYTES + 5000}`, BIG_BYTES - 10, last],
    ['bytes=0-0', 0, 0],
  ];
  for (const [range, start, end] of cases) {
    expectPart(
      await exchange(conn, get('/big.bin', { Range: range }), { what: `GET /big.bin with Range: ${range}` }),
      start,
      end,
      BIG_BYTES,
      `Range: ${range}`,
    );
  }
});

test('416 for a range that starts past the end, with Content-Range: bytes */size', stage(3, 2), async () => {
  await using conn = await server.connect();
  for (const range of [`bytes=${BIG_BYTES}-`, `bytes=${BIG_BYTES + 100}-${BIG_BYTES + 200}`]) {
    const response = await exchange(conn, get('/big.bin', { Range: range }));
    expectStatus(response, 416, `Range: ${range} of a file of ${BIG_BYTES} bytes`);
    expect(header(response, 'content-range'), 'the 416 says how long the file is').toBe(`bytes */${BIG_BYTES}`);
  }
  // The connection still works: a 416 is not a broken request.
  expectFile(await exchange(conn, get('/hello.txt')), HELLO);
});

test('a Range that does not parse, names another unit or asks for several is answered with the whole file', stage(3, 1), async () => {
  await using conn = await server.connect();
  for (const range of ['items=0-9', 'bytes=abc', 'bytes=9-2', 'bytes=0-1,5-6']) {
    expectFile(await exchange(conn, get('/hello.txt', { Range: range }), { what: `GET /hello.txt with Range: ${range}` }), HELLO);
  }
});

test('ETag and Last-Modified on every file, each file its own ETag', stage(3, 2), async () => {
  await using conn = await server.connect();
  const hello = await exchange(conn, get('/hello.txt'));
  const data = await exchange(conn, get('/data.json'));
  for (const [name, response] of [
    ['hello.txt', hello],
    ['data.json', data],
  ] as const) {
    expect(header(response, 'etag'), `${name}: an ETag, quoted (RFC 9110 §8.8.3), e.g. "5f3a-e"`).toMatch(/^(W\/)?"[\x21\x23-\x7e]*"$/);
    expect(header(response, 'last-modified'), `${name}: Last-Modified is the file's modification time`).toBe(LAST_MODIFIED);
  }
  expect(header(hello, 'etag'), 'two different files have different ETags').not.toBe(header(data, 'etag'));
});

test('If-None-Match: 304 with no body for the ETag, * or a list holding it; 200 for another', stage(3, 3), async () => {
  await using conn = await server.connect();
  const etag = header(await exchange(conn, get('/hello.txt')), 'etag')!;
  for (const match of [etag, '*', `"other", ${etag}`, `W/${etag.replace(/^W\//, '')}`]) {
    // A GET right behind it: a body after the 304 would show up as its answer.
    await conn.write(Buffer.concat([get('/hello.txt', { 'If-None-Match': match }), get('/data.json')]));
    const response = await readResponse(conn, { what: `GET /hello.txt with If-None-Match: ${match}` });
    expectStatus(response, 304, `If-None-Match: ${match} (the file's ETag is ${etag})`);
    expect(header(response, 'etag'), 'a 304 carries the ETag').toBe(etag);
    expectFile(await readResponse(conn, { what: 'the GET after the 304 (a 304 has no body)' }), FILES['data.json']!);
  }
  expectFile(await exchange(conn, get('/hello.txt', { 'If-None-Match': '"not-this-one"' })), HELLO);
});

test('If-Modified-Since: 304 at or after the file, 200 before it; If-None-Match wins when both come', stage(3, 2), async () => {
  await using conn = await server.connect();
  const later = new Date(Date.parse(LAST_MODIFIED) + 86_400_000).toUTCString();
  for (const since of [LAST_MODIFIED, later]) {
    expectStatus(
      await exchange(conn, get('/hello.txt', { 'If-Modified-Since': since })),
      304,
      `If-Modified-Since: ${since} (the file is from ${LAST_MODIFIED})`,
    );
  }
  const earlier = new Date(Date.parse(LAST_MODIFIED) - 1_000).toUTCString();
  expectFile(await exchange(conn, get('/hello.txt', { 'If-Modified-Since': earlier })), HELLO);
  expectFile(await exchange(conn, get('/hello.txt', { 'If-Modified-Since': 'not a date' })), HELLO);
  // RFC 9110 §13.2.2: If-None-Match is evaluated first; If-Modified-Since is then ignored.
  expectFile(await exchange(conn, get('/hello.txt', { 'If-None-Match': '"not-this-one"', 'If-Modified-Since': LAST_MODIFIED })), HELLO);
});

import { createHash } from 'node:crypto';
import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { BIG_BYTES, exchange, expectFile, expectStatus, FILES, get, header, HELLO, patternBytes, PUBLIC, readResponse, request, servedTree } from './http.ts';

// Stage 5 runs under the manifest's bad-network profiles (wan, lossy): delay, jitter, loss,
// duplication and reordering on every packet, both ways. TCP repairs all of it, so a correct
// server needs nothing new; what breaks is code that leans on one request per segment, or on
// timing. Timeouts here are the link's: a few round trips and retransmissions more than clean.
const server = useSubmission({ files: servedTree(), filesRoot: PUBLIC });
const IO_MS = 15_000;

test('20 pipelined requests across a bad link are answered in order', stage(5, 4, { timeout: 60_000 }), async () => {
  await using conn = await server.connect({ timeoutMs: IO_MS });
  const names = ['hello.txt', 'index.html', 'style.css', 'nope.txt', 'data.json', 'docs/guide.txt', 'app.js', 'README'];
  const plan = Array.from({ length: 20 }, (_, i) => names[i % names.length]!);
  await conn.write(Buffer.concat(plan.map((name) => get(`/${name}`))));
  for (const [i, name] of plan.entries()) {
    const response = await readResponse(conn, { what: `pipelined request ${i + 1} of ${plan.length} (GET /${name})`, timeoutMs: IO_MS });
    const file = FILES[name];
    if (file) expectFile(response, file);
    else expectStatus(response, 404, `GET /${name}`);
  }
});

test('a 4 MiB file arrives whole, and ranges of it exactly', stage(5, 4, { timeout: 90_000 }), async () => {
  await using conn = await server.connect({ timeoutMs: IO_MS });
  const hash = createHash('sha256');
  const response = await exchange(conn, get('/big.bin'), { timeoutMs: IO_MS, onBody: (chunk) => hash.update(chunk) });
  expect(response.status).toBe(200);
  expect(header(response, 'content-length')).toBe(String(BIG_BYTES));
  expect(hash.digest('hex'), 'the SHA-256 of the body against the file').toBe(
    createHash('sha256')
      .update(patternBytes(0, BIG_BYTES - 1))
      .digest('hex'),
  );
  for (const [start, end] of [
    [1_000_000, 1_199_999],
    [BIG_BYTES - 70_000, BIG_BYTES - 1],
  ] as const) {
    const part = await exchange(conn, get('/big.bin', { Range: `bytes=${start}-${end}` }), { timeoutMs: IO_MS });
    expect(part.status, `Range: bytes=${start}-${end}`).toBe(206);
    expect(part.body.equals(patternBytes(start, end)), `bytes ${start}-${end}`).toBe(true);
  }
});

test('requests a byte at a time on one kept-alive connection, three in a row', stage(5, 4, { timeout: 90_000 }), async () => {
  await using conn = await server.connect({ timeoutMs: IO_MS });
  for (const name of ['hello.txt', 'data.json', 'index.html']) {
    const data = get(`/${name}`, { Accept: '*/*' });
    // One byte per segment: with Nagle off every write leaves as its own packet, each one
    // delayed, lost, duplicated or reordered on its own.
    await conn.writeInPieces(data, new Array(data.length).fill(1));
    expectFile(await readResponse(conn, { what: `GET /${name}, a byte at a time`, timeoutMs: IO_MS }), FILES[name]!);
  }
});

test('HEAD, 304 and 404 keep the connection in step across a bad link', stage(5, 3, { timeout: 60_000 }), async () => {
  await using conn = await server.connect({ timeoutMs: IO_MS });
  const etag = header(await exchange(conn, get('/hello.txt'), { timeoutMs: IO_MS }), 'etag')!;
  await conn.write(Buffer.concat([request('HEAD', '/index.html'), get('/hello.txt', { 'If-None-Match': etag }), get('/nope.txt'), get('/hello.txt')]));
  const head = await readResponse(conn, { head: true, what: 'HEAD /index.html', timeoutMs: IO_MS });
  expect(head.status).toBe(200);
  expectStatus(await readResponse(conn, { what: 'GET /hello.txt with its ETag', timeoutMs: IO_MS }), 304, 'If-None-Match with the ETag');
  expectStatus(await readResponse(conn, { what: 'GET /nope.txt', timeoutMs: IO_MS }), 404, 'GET /nope.txt');
  expectFile(await readResponse(conn, { what: 'GET /hello.txt, last', timeoutMs: IO_MS }), HELLO);
});

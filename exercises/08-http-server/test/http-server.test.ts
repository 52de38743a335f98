// Visible tests: run them with `npx netkata test http-server` (your src/main.ts, on your
// machine, in a few seconds). The hidden suite that grades you goes much further (every stage,
// in a container, 10,000 connections, a bad network): see README.md.
import { expect, test } from 'vitest';
import { stage, useSubmission, type TcpConnection } from 'netkata/harness';

const HELLO = Buffer.from('hello, netkata\n');
const INDEX = Buffer.from('<!doctype html>\n<h1>It works</h1>\n');

// FILES_DIR is public/; secret.txt lies beside it and must never be served.
const server = useSubmission({
  files: {
    'public/index.html': INDEX,
    'public/hello.txt': HELLO,
    'public/a b.txt': Buffer.from('a space\n'),
    'public/big.bin': { sizeBytes: 1024 * 1024, pattern: Buffer.from('0123456789abcdef') },
    'secret.txt': Buffer.from('never served\n'),
  },
  filesRoot: 'public',
});

interface Response {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** Reads one response: status line, headers, blank line, Content-Length bytes (none for HEAD or 304). */
async function read(conn: TcpConnection, head = false): Promise<Response> {
  const statusLine = await conn.readLine();
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
  expect(match, `a status line like "HTTP/1.1 200 OK", got ${JSON.stringify(statusLine)}`).not.toBeNull();
  const headers = new Map<string, string>();
  for (let line = await conn.readLine(); line !== ''; line = await conn.readLine()) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const status = Number(match![1]);
  if (head || status === 304) return { status, headers, body: Buffer.alloc(0) };
  expect(headers.has('content-length'), `the ${status} response has a Content-Length`).toBe(true);
  return { status, headers, body: await conn.read(Number(headers.get('content-length'))) };
}

const get = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;

test('GET / serves index.html, with Content-Type and Content-Length', stage(1, 1), async () => {
  await using conn = await server.connect();
  await conn.write(get('/'));
  const response = await read(conn);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  expect(response.body.equals(INDEX)).toBe(true);
  expect(response.headers.get('date'), 'a Date header').toBeDefined();
});

test('404 for a missing file; HEAD has the head and no body', stage(1, 1), async () => {
  await using conn = await server.connect();
  await conn.write(get('/nope.txt'));
  expect((await read(conn)).status).toBe(404);
  await using other = await server.connect();
  await other.write('HEAD /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  const head = await read(other, true);
  expect(head.status).toBe(200);
  expect(head.headers.get('content-length')).toBe(String(HELLO.length));
  expect((await other.readToEnd()).length, 'bytes after the head of a HEAD answer').toBe(0);
});

test('two requests in one write, and one sent a byte at a time, on one connection', stage(2, 1), async () => {
  await using conn = await server.connect();
  await conn.write(get('/hello.txt') + get('/a%20b.txt'));
  expect((await read(conn)).body.equals(HELLO)).toBe(true);
  expect((await read(conn)).body.toString()).toBe('a space\n');
  const request = Buffer.from(get('/hello.txt'));
  await conn.writeInPieces(request, new Array(request.length).fill(1));
  expect((await read(conn)).body.equals(HELLO)).toBe(true);
});

test('nothing outside FILES_DIR: /../secret.txt and /%2e%2e/secret.txt are refused', stage(2, 1), async () => {
  for (const target of ['/../secret.txt', '/%2e%2e/secret.txt']) {
    await using conn = await server.connect();
    await conn.write(get(target));
    const response = await read(conn);
    expect([400, 403, 404], `GET ${target}`).toContain(response.status);
    expect(response.body.toString()).not.toContain('never served');
  }
});

test('Range: bytes=10-19 is a 206 with Content-Range', stage(3, 1), async () => {
  await using conn = await server.connect();
  await conn.write(get('/big.bin', 'Range: bytes=10-19\r\n'));
  const response = await read(conn);
  expect(response.status).toBe(206);
  expect(response.headers.get('content-range')).toBe(`bytes 10-19/${1024 * 1024}`);
  expect(response.body.toString()).toBe('abcdef0123');
});

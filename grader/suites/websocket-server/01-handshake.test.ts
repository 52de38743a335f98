import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { acceptOf, encodeFrame, handshake, newKey, Op, openWs, readHttpHead, WsClient } from './ws.ts';

// Stage 1: the opening handshake (RFC 6455 §4.2) and a first echo.
const server = useSubmission();

test('101 Switching Protocols with the Sec-WebSocket-Accept of the RFC example (RFC 6455 §4.2.2, §1.3)', stage(1, 4), async () => {
  await using conn = await server.connect();
  // The RFC's own example key and answer.
  await conn.write(handshake('/echo', 'dGhlIHNhbXBsZSBub25jZQ=='));
  const answer = await readHttpHead(conn);
  expect(answer.status, `the answer:\n${answer.head}`).toBe(101);
  expect(answer.headers.get('sec-websocket-accept'), 'Sec-WebSocket-Accept for dGhlIHNhbXBsZSBub25jZQ==').toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  expect(answer.headers.get('upgrade')?.toLowerCase(), 'Upgrade').toBe('websocket');
  expect(answer.headers.get('connection')?.toLowerCase(), 'Connection').toContain('upgrade');
  expect(answer.headers.has('sec-websocket-extensions'), 'no extension was asked for, so none is agreed').toBe(false);
});

test('a text message to /echo comes back, and so does a binary one (RFC 6455 §5.6)', stage(1, 3), async () => {
  await using ws = await openWs(server, '/echo');
  await ws.text('Hello');
  await ws.expectMessage('Hello');
  await ws.send(Op.binary, Buffer.from([0, 1, 2, 255]));
  await ws.expectMessage(Buffer.from([0, 1, 2, 255]), Op.binary);
});

test('a frame in the same segment as the handshake is read after it (RFC 6455 §4.2.1)', stage(1, 2), async () => {
  await using conn = await server.connect();
  const key = newKey();
  await conn.write(Buffer.concat([Buffer.from(handshake('/echo', key)), encodeFrame(Op.text, 'right behind')]));
  const answer = await readHttpHead(conn);
  expect(answer.status).toBe(101);
  expect(answer.headers.get('sec-websocket-accept')).toBe(acceptOf(key));
  await new WsClient(conn).expectMessage('right behind');
});

test('426 Upgrade Required for version 8 (saying 13) and for a plain GET (RFC 6455 §4.2.2, §4.4)', stage(1, 3), async () => {
  {
    await using conn = await server.connect();
    await conn.write(handshake('/echo', newKey(), { 'Sec-WebSocket-Version': '8' }));
    const answer = await readHttpHead(conn);
    expect(answer.status, `version 8:\n${answer.head}`).toBe(426);
    expect(answer.headers.get('sec-websocket-version'), 'the 426 names the version spoken here').toBe('13');
  }
  {
    await using conn = await server.connect();
    await conn.write('GET /echo HTTP/1.1\r\nHost: netkata.test\r\n\r\n');
    const answer = await readHttpHead(conn);
    expect(answer.status, `a plain GET:\n${answer.head}`).toBe(426);
    expect(answer.headers.get('upgrade')?.toLowerCase(), 'the 426 says what to upgrade to').toBe('websocket');
  }
});

test('400 for a missing or malformed Sec-WebSocket-Key or a POST, 404 for another path (RFC 6455 §4.2.1)', stage(1, 3), async () => {
  const cases: ReadonlyArray<[string, number, string]> = [
    [handshake('/echo', newKey(), { 'Sec-WebSocket-Key': null }), 400, 'no Sec-WebSocket-Key'],
    [handshake('/echo', 'c2hvcnQ='), 400, 'a key of 5 bytes, not 16'],
    [handshake('/echo', newKey(), {}, 'POST /echo HTTP/1.1'), 400, 'a POST'],
    [handshake('/nope', newKey()), 404, 'a path that is neither /echo nor /room'],
  ];
  for (const [request, status, why] of cases) {
    await using conn = await server.connect();
    await conn.write(request);
    const answer = await readHttpHead(conn);
    expect(answer.status, `${why}:\n${answer.head}`).toBe(status);
  }
});

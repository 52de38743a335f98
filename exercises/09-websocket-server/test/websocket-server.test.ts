// Visible tests: run them with `npx netkata test websocket-server` (your src/main.ts, on your
// machine, in a second or two). The hidden suite that grades you goes much further (every case
// of every stage, a room of 200, a bad network): see README.md.
import { createHash, randomBytes } from 'node:crypto';
import { expect, test } from 'vitest';
import { stage, useSubmission, type TcpConnection } from 'netkata/harness';

const server = useSubmission();

/** Connects and upgrades to `path`; fails unless the answer is 101 with the right accept. */
async function open(path = '/echo'): Promise<TcpConnection> {
  const conn = await server.connect();
  const key = randomBytes(16).toString('base64');
  await conn.write(
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const status = await conn.readLine();
  expect(status, 'the answer to the handshake').toMatch(/^HTTP\/1\.1 101 /);
  const headers = new Map<string, string>();
  for (let line = await conn.readLine(); line !== ''; line = await conn.readLine()) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  expect(headers.get('sec-websocket-accept'), 'Sec-WebSocket-Accept').toBe(accept);
  return conn;
}

/** A masked client frame. */
function frame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4);
  const head =
    payload.length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length])
      : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, mask, payload.map((b, i) => b ^ mask[i % 4]!)]);
}

/** A server frame: [opcode, payload]. */
async function read(conn: TcpConnection): Promise<[number, Buffer]> {
  const [b0, b1] = await conn.read(2);
  expect(b1! & 0x80, 'a server frame is not masked').toBe(0);
  let length = b1! & 0x7f;
  if (length === 126) length = (await conn.read(2)).readUInt16BE(0);
  else if (length === 127) length = Number((await conn.read(8)).readBigUInt64BE(0));
  return [b0! & 0x0f, length ? await conn.read(length) : Buffer.alloc(0)];
}

test('the handshake, and a text message echoed', stage(1, 1), async () => {
  await using conn = await open();
  await conn.write(frame(1, Buffer.from('Hello')));
  expect(await read(conn)).toEqual([1, Buffer.from('Hello')]);
});

test('a 300-byte binary message (16-bit length), and an unmasked frame closes with 1002', stage(2, 1), async () => {
  await using conn = await open();
  const data = randomBytes(300);
  await conn.write(frame(2, data));
  expect(await read(conn)).toEqual([2, data]);
  await conn.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // "hi", no mask bit
  const [opcode, payload] = await read(conn);
  expect([opcode, payload.readUInt16BE(0)], 'a close frame with 1002').toEqual([8, 1002]);
});

test('fragments with a ping between them: the pong first, then the message', stage(3, 1), async () => {
  await using conn = await open();
  await conn.write(Buffer.concat([frame(1, Buffer.from('frag'), false), frame(9, Buffer.from('ping?')), frame(0, Buffer.from('mented'))]));
  expect(await read(conn)).toEqual([10, Buffer.from('ping?')]);
  expect(await read(conn)).toEqual([1, Buffer.from('fragmented')]);
});

test('a close with 1000 is answered with 1000, then the server closes', stage(4, 1), async () => {
  await using conn = await open();
  await conn.write(frame(8, Buffer.from([0x03, 0xe8])));
  const [opcode, payload] = await read(conn);
  expect([opcode, payload.readUInt16BE(0)]).toEqual([8, 1000]);
  await conn.expectClosed();
});

test('/room: a message reaches both members', stage(5, 1), async () => {
  await using alice = await open('/room');
  await using bob = await open('/room');
  await alice.write(frame(1, Buffer.from('hi all')));
  expect(await read(alice)).toEqual([1, Buffer.from('hi all')]);
  expect(await read(bob)).toEqual([1, Buffer.from('hi all')]);
});

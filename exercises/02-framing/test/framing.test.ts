// Visible tests: run them with `npx netkata test framing` (your src/main.ts, on your machine,
// in about a second). The hidden suite that grades you goes further: see README.md.
import { createHash } from 'node:crypto';
import { expect, test } from 'vitest';
import { stage, useSubmission, type TcpConnection } from 'netkata/harness';

const server = useSubmission();

function frame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(payload.length + 1, 0);
  header[4] = type;
  return Buffer.concat([header, payload]);
}

async function readFrame(client: TcpConnection): Promise<{ type: number; payload: Buffer }> {
  const length = (await client.read(4)).readUInt32BE(0);
  const body = await client.read(length);
  return { type: body[0]!, payload: body.subarray(1) };
}

test('ECHO comes back as 0x82 with the same payload', stage(1, 1), async () => {
  await using client = await server.connect();
  await client.write(frame(0x02, Buffer.from('hi')));
  const response = await readFrame(client);
  expect(response.type.toString(16)).toBe('82');
  expect(response.payload.toString()).toBe('hi');
});

test('a frame written one byte at a time still gets its answer', stage(2, 1), async () => {
  await using client = await server.connect();
  await client.writeInPieces(frame(0x02, Buffer.from('piece by piece')), [1]);
  expect((await readFrame(client)).payload.toString()).toBe('piece by piece');
});

test('SUM of -1 and 43 is 42; SHA256 of "abc"', stage(3, 1), async () => {
  await using client = await server.connect();
  const numbers = Buffer.alloc(8);
  numbers.writeInt32BE(-1, 0);
  numbers.writeInt32BE(43, 4);
  await client.write(Buffer.concat([frame(0x01, numbers), frame(0x03, Buffer.from('abc'))]));
  const sum = await readFrame(client);
  expect(sum.type.toString(16)).toBe('81');
  expect(sum.payload.readBigInt64BE(0)).toBe(42n);
  const digest = await readFrame(client);
  expect(digest.payload.toString('hex')).toBe(createHash('sha256').update('abc').digest('hex'));
});

test('an unknown type gets an error frame (0xff)', stage(4, 1), async () => {
  await using client = await server.connect();
  await client.write(frame(0x42));
  expect((await readFrame(client)).type.toString(16)).toBe('ff');
});

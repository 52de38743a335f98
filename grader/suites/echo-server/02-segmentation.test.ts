import { expect, test } from 'vitest';
import { expectBytes, pieceSizes, randomBytes, stage, useSubmission } from 'netkata/harness';

const server = useSubmission();

test('survives 1-byte writes', stage(2, 5), async () => {
  const text = Buffer.from('TCP is a byte stream: one write is not one read.\n'.repeat(20));
  await using client = await server.connect();
  const reading = client.read(text.length, 10_000);
  await client.writeInPieces(text, [1]);
  expectBytes(await reading, text, 'the echo');
});

test('returns the exact stream under random splits', stage(2, 5), async () => {
  const data = randomBytes(256 * 1024, 2);
  await using client = await server.connect();
  const reading = client.read(data.length, 15_000);
  await client.writeInPieces(data, pieceSizes(400, 1, 3_000, 21));
  const echoed = await reading;
  expect(echoed.length).toBe(data.length);
  expectBytes(echoed, data, 'the echo');
});

test('answers many messages coalesced into one write', stage(2, 5), async () => {
  const messages = Array.from({ length: 500 }, (_, i) => `message ${i}\n`).join('');
  await using client = await server.connect();
  await client.write(messages);
  expect((await client.read(Buffer.byteLength(messages))).toString()).toBe(messages);
});

test('is binary-safe: 0x00, every byte value and invalid UTF-8 survive', stage(2, 5), async () => {
  const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const invalidUtf8 = Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xff, 0xfe, 0x00, 0x00]);
  const euro = Buffer.from('€uro'); // a multi-byte character, split across writes below
  const data = Buffer.concat([everyByte, invalidUtf8, euro, everyByte.reverse()]);
  await using client = await server.connect();
  const reading = client.read(data.length);
  await client.writeInPieces(data, [7, 1, 3, 2, 64]);
  const echoed = await reading;
  expectBytes(echoed, data, 'the echo');
});

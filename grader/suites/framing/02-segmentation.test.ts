import { expect, test } from 'vitest';
import { expectBytes, pieceSizes, randomBytes, stage, useSubmission } from 'netkata/harness';
import { describeType, expectSum, frame, ints, readFrame, sumOf, Type } from './frames.ts';

const server = useSubmission();

test('a frame written one byte at a time', stage(2, 5), async () => {
  await using client = await server.connect();
  await client.writeInPieces(Buffer.concat([frame(Type.ECHO, Buffer.from('slow')), frame(Type.SUM, ints([-5, 7]))]), [1]);
  const echo = await readFrame(client);
  expect(describeType(echo.type)).toBe('0x82');
  expect(echo.payload.toString()).toBe('slow');
  expectSum(await readFrame(client), 2n);
});

test('200 frames split at random points, the length field included', stage(2, 8), async () => {
  const payloads = Array.from({ length: 200 }, (_, i) => randomBytes((i * 7) % 300, 20 + i));
  const stream = Buffer.concat(payloads.map((p) => frame(Type.ECHO, p)));
  await using client = await server.connect();
  const writing = client.writeInPieces(stream, pieceSizes(400, 1, 97, 2));
  for (const [i, payload] of payloads.entries()) {
    const response = await readFrame(client);
    expect(describeType(response.type), `frame ${i}`).toBe('0x82');
    expectBytes(response.payload, payload, `frame ${i}'s payload`);
  }
  await writing;
});

test('50 frames in one write are 50 answers', stage(2, 7), async () => {
  const lists = Array.from({ length: 50 }, (_, i) => Array.from({ length: i }, (_, j) => (i * 1_000 + j) * (j % 2 ? -1 : 1)));
  await using client = await server.connect();
  await client.write(Buffer.concat(lists.map((l) => frame(Type.SUM, ints(l)))));
  for (const [i, list] of lists.entries()) expectSum(await readFrame(client), sumOf(list), `SUM ${i}`);
});

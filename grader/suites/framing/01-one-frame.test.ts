import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { describeType, expectSum, frame, ints, readFrame, Type } from './frames.ts';

const server = useSubmission();

test('answers an ECHO frame with 0x82 and the same payload', stage(1, 5), async () => {
  await using client = await server.connect();
  await client.write(frame(Type.ECHO, Buffer.from('hello, frames')));
  const response = await readFrame(client);
  expect(describeType(response.type), 'response type').toBe('0x82');
  expect(response.payload.toString()).toBe('hello, frames');
});

test('answers a SUM frame with the signed 64-bit sum', stage(1, 5), async () => {
  await using client = await server.connect();
  await client.write(frame(Type.SUM, ints([1, 2, 3, 36])));
  expectSum(await readFrame(client), 42n);
});

import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { expectError, expectSum, frame, ints, readFrame, Type } from './frames.ts';

const server = useSubmission();

test('a SUM payload that is not a multiple of 4 gets an error, and the connection stays usable', stage(4, 5), async () => {
  await using client = await server.connect();
  await client.write(frame(Type.SUM, Buffer.from([0, 0, 0, 1, 9])));
  expectError(await readFrame(client), 'SUM with 5 payload bytes');
  await client.write(frame(Type.SUM, ints([20, 22])));
  expectSum(await readFrame(client), 42n, 'SUM after the error');
});

test('an unknown type gets an error frame, then the server closes', stage(4, 5), async () => {
  await using client = await server.connect();
  await client.write(frame(0x42, Buffer.from('what is this')));
  expectError(await readFrame(client), 'type 0x42');
  expect((await client.readToEnd()).length, 'bytes after the error frame').toBe(0);
});

test('a frame length of 0 gets an error frame, then the server closes', stage(4, 5), async () => {
  await using client = await server.connect();
  await client.write(Buffer.from([0, 0, 0, 0]));
  expectError(await readFrame(client), 'length 0');
  expect((await client.readToEnd()).length, 'bytes after the error frame').toBe(0);
});

test('a length over 16 MiB is refused from the header alone, then the server closes', stage(4, 5), async () => {
  await using client = await server.connect();
  // Only the header is sent: a server that waits for 2 GiB of body never answers.
  await client.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, Type.ECHO]));
  expectError(await readFrame(client), 'length 2^31-1');
  expect((await client.readToEnd()).length, 'bytes after the error frame').toBe(0);
});

import { createHash } from 'node:crypto';
import { expect, test } from 'vitest';
import { expectBytes, randomBytes, stage, useSubmission } from 'netkata/harness';
import { describeType, expectAlive, expectSum, frame, ints, MAX_LENGTH, readFrame, Type } from './frames.ts';

const server = useSubmission();
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

test('SUM of negative numbers, and of none at all', stage(3, 4), async () => {
  await using client = await server.connect();
  await client.write(frame(Type.SUM, ints([-1, -2, INT32_MIN, 3])));
  expectSum(await readFrame(client), -1n - 2n - 2147483648n + 3n);
  await client.write(frame(Type.SUM));
  expectSum(await readFrame(client), 0n, 'SUM of no numbers');
});

test('SUM past 32 bits: millions of extreme values, to the largest sum a frame can carry', stage(3, 6, { timeout: 60_000 }), async () => {
  // The largest SUM frame holds 4,194,303 numbers; all at INT32_MIN but the last at INT32_MAX
  // sum to -9,007,192,812,290,049: 53 bits, far past what 32-bit arithmetic survives.
  const count = Math.floor((MAX_LENGTH - 1) / 4);
  const values = Buffer.alloc(count * 4);
  for (let i = 0; i < count - 1; i++) values.writeInt32BE(INT32_MIN, i * 4);
  values.writeInt32BE(INT32_MAX, (count - 1) * 4);
  await using client = await server.connect();
  await expectAlive(client);
  await client.write(frame(Type.SUM, values));
  expectSum(await readFrame(client, 30_000), BigInt(count - 1) * BigInt(INT32_MIN) + BigInt(INT32_MAX), 'SUM of 4,194,303 numbers');
  await client.write(frame(Type.SUM, ints([INT32_MAX, INT32_MAX, INT32_MAX])));
  expectSum(await readFrame(client), 3n * BigInt(INT32_MAX), 'SUM of three INT32_MAX');
});

test('SHA256 of a 16 MiB frame, within the memory limit', stage(3, 6, { timeout: 60_000 }), async () => {
  const payload = randomBytes(MAX_LENGTH - 1, 31);
  await using client = await server.connect();
  await expectAlive(client);
  await client.write(frame(Type.SHA256, payload));
  const response = await readFrame(client, 30_000);
  expect(describeType(response.type)).toBe('0x83');
  expectBytes(response.payload, createHash('sha256').update(payload).digest(), 'the SHA-256 payload');
  await server.assertRunning();
});

test('SHA256 and ECHO of an empty payload', stage(3, 4), async () => {
  await using client = await server.connect();
  await client.write(frame(Type.SHA256));
  const digest = await readFrame(client);
  expect(describeType(digest.type)).toBe('0x83');
  expectBytes(digest.payload, createHash('sha256').digest(), 'the SHA-256 payload of an empty payload');
  await client.write(frame(Type.ECHO));
  const echo = await readFrame(client);
  expect(describeType(echo.type)).toBe('0x82');
  expect(echo.payload.length).toBe(0);
});

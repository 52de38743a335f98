import { expect, test } from 'vitest';
import { randomBytes, stage, useSubmission } from 'netkata/harness';
import { expectError, fetchFile, sha256 } from './client.ts';

const files = {
  'hello.txt': Buffer.from('Hello over UDP!\n'),
  'ten-thousand.bin': randomBytes(10_000, 101),
  'three-segments.bin': randomBytes(3 * 1_200, 102),
  'empty.txt': Buffer.alloc(0),
};
const server = useSubmission({ files });

test('a one-segment file comes as DATA 0 and a FIN with its SHA-256', stage(1, 4), async () => {
  await using client = await server.udp();
  const result = await fetchFile(client, 'hello.txt', { id: 7, deadlineMs: 5_000 });
  expect(result.total).toBe(1);
  expect(result.data.toString()).toBe('Hello over UDP!\n');
  expect(result.digest.toString('hex')).toBe(sha256(files['hello.txt']).toString('hex'));
});

test('a 10,000-byte file comes in 9 segments, 1,200 bytes each but the last', stage(1, 4), async () => {
  await using client = await server.udp();
  const result = await fetchFile(client, 'ten-thousand.bin', { id: 0xfffffffe, deadlineMs: 5_000 });
  expect(result.total).toBe(9);
  expect(result.data.equals(files['ten-thousand.bin']), 'the bytes received are the file').toBe(true);
});

test('a file of exactly 3 segments has 3; an empty file has none, only a FIN with total 0', stage(1, 3), async () => {
  await using client = await server.udp();
  const three = await fetchFile(client, 'three-segments.bin', { id: 1, deadlineMs: 5_000 });
  expect(three.total).toBe(3);
  expect(three.data.equals(files['three-segments.bin'])).toBe(true);
  const empty = await fetchFile(client, 'empty.txt', { id: 2, deadlineMs: 5_000 });
  expect({ total: empty.total, dataDatagrams: empty.dataDatagrams }).toEqual({ total: 0, dataDatagrams: 0 });
  expect(empty.digest.toString('hex')).toBe(sha256(Buffer.alloc(0)).toString('hex'));
});

test('an unknown file gets ERROR with the transfer id and a message', stage(1, 4), async () => {
  await using client = await server.udp();
  const message = await expectError(client, 'no-such-file.txt', 42);
  expect(message.length, 'the ERROR carries a message').toBeGreaterThan(0);
});

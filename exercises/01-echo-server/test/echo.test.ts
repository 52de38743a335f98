// Visible tests: run them with `npx netkata test echo-server` (your src/main.ts, on your
// machine, in about a second). The hidden suite that grades you goes further: see README.md.
import { expect, test } from 'vitest';
import { expectBytes, randomBytes, stage, useSubmission } from 'netkata/harness';

const server = useSubmission();

test('echoes one message back', stage(1, 1), async () => {
  await using client = await server.connect();
  await client.write('hello, netkata\n');
  expect((await client.read(15)).toString()).toBe('hello, netkata\n');
});

test('returns binary data unchanged, even when written one byte at a time', stage(2, 1), async () => {
  const data = Buffer.from([0x00, 0xff, 0xc3, 0x28, 0x0a, 0x80, 0x00]);
  await using client = await server.connect();
  const reading = client.read(data.length);
  await client.writeInPieces(data, [1]);
  expectBytes(await reading, data, 'the echo');
});

test('serves two clients at once', stage(3, 1), async () => {
  await using first = await server.connect();
  await using second = await server.connect();
  await first.write('first\n');
  await second.write('second\n');
  expect((await second.read(7)).toString()).toBe('second\n');
  expect((await first.read(6)).toString()).toBe('first\n');
});

test('echoes everything, then closes, after the client half-closes', stage(4, 1), async () => {
  const data = randomBytes(64 * 1024, 1);
  await using client = await server.connect();
  await client.write(data);
  await client.end();
  expectBytes(await client.readToEnd(), data, 'the echo before your close');
});

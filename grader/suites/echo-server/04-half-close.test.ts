import { expect, test } from 'vitest';
import { expectBytes, randomBytes, stage, useSubmission } from 'netkata/harness';

const server = useSubmission();

test('after the client half-closes, the server sends every remaining byte, then closes', stage(4, 10), async () => {
  const data = randomBytes(1024 * 1024, 4);
  await using client = await server.connect();
  // A short exchange first, so a server that never echoes fails in seconds, not at the timeout.
  await client.write('ready?\n');
  expect((await client.read(7)).toString()).toBe('ready?\n');
  await client.write(data);
  await client.end();
  const echoed = await client.readToEnd(15_000);
  expect(echoed.length, 'bytes echoed before the server closed').toBe(data.length);
  expectBytes(echoed, data, 'the echo before your close');
  expect(client.serverEnded).toBe(true);
});

test('a client reset does not disturb other clients', stage(4, 10), async () => {
  await using steady = await server.connect({ label: 'steady' });
  const doomed = await server.connect({ label: 'doomed' });
  await doomed.write(randomBytes(512 * 1024, 44));
  doomed.reset();
  for (let round = 0; round < 10; round++) {
    const message = Buffer.from(`round ${round} still here\n`);
    await steady.write(message);
    expect((await steady.read(message.length)).equals(message)).toBe(true);
  }
  await using late = await server.connect({ label: 'late' });
  await late.write('new clients welcome?\n');
  expect((await late.read(21)).toString()).toBe('new clients welcome?\n');
  await server.assertRunning();
});

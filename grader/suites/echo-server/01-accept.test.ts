import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';

const server = useSubmission();

test('echoes one message back', stage(1, 5), async () => {
  await using client = await server.connect();
  await client.write('hello, netkata\n');
  expect((await client.read(15)).toString()).toBe('hello, netkata\n');
});

test('echoes several messages on one connection, in order', stage(1, 5), async () => {
  await using client = await server.connect();
  for (const word of ['ping\n', 'pong\n', 'the quick brown fox\n']) {
    await client.write(word);
    expect((await client.read(word.length)).toString()).toBe(word);
  }
});

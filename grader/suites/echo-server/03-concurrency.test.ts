import { expect, test } from 'vitest';
import { randomBytes, stage, useSubmission, type TcpConnection } from 'netkata/harness';

const server = useSubmission();

test('200 concurrent clients with interleaved traffic each get only their own bytes', stage(3, 12), async () => {
  const clients: TcpConnection[] = [];
  for (let i = 0; i < 200; i++) clients.push(await server.connect({ label: `c${i + 1}` }));
  const rounds = 4;
  for (let round = 0; round < rounds; round++) {
    // Every client writes before any reads, so the server must keep 200 conversations apart.
    const sent = clients.map((_, i) => Buffer.concat([Buffer.from(`client ${i} round ${round}:`), randomBytes(200 + i, i * 31 + round)]));
    await Promise.all(clients.map((client, i) => client.write(sent[i]!)));
    const echoed = await Promise.all(clients.map((client, i) => client.read(sent[i]!.length, 15_000)));
    for (let i = 0; i < clients.length; i++) {
      expect(echoed[i]!.equals(sent[i]!), `client ${i} round ${round} got bytes that are not its own`).toBe(true);
    }
  }
});

test('an idle connection does not hold up another client', stage(3, 8), async () => {
  await using idle = await server.connect({ label: 'idle' });
  await idle.write('half a messa');
  await using active = await server.connect({ label: 'active' });
  await active.write('are you serving me too?\n');
  expect((await active.read(24, 3_000)).toString()).toBe('are you serving me too?\n');
});

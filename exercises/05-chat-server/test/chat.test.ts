// Visible tests: run them with `npx netkata test chat-server` (your src/main.ts, on your
// machine, in a few seconds). The hidden suite that grades you goes further: see README.md.
import { expect, test } from 'vitest';
import { stage, useSubmission, type TcpConnection } from 'netkata/harness';

// A short heartbeat, so the stage 5 test takes a second, not 15.
const server = useSubmission({ env: { PING_INTERVAL_MS: '1000', PING_TIMEOUT_MS: '1000' } });

async function connect(label: string): Promise<TcpConnection> {
  return server.connect({ label });
}

async function say(client: TcpConnection, line: string): Promise<string> {
  await client.write(`${line}\n`);
  return client.readLine();
}

async function login(nick: string): Promise<TcpConnection> {
  const client = await connect(nick);
  expect(await say(client, `NICK ${nick}`), `the reply to NICK ${nick}`).toBe('OK');
  return client;
}

test('NICK takes a free name, refuses a taken one', stage(1, 1), async () => {
  await login('alice');
  const other = await connect('other');
  expect(await say(other, 'NICK alice')).toBe('ERR nick taken');
  expect(await say(other, 'NICK no!')).toBe('ERR bad nick');
  expect(await say(other, 'JOIN #tea')).toBe('ERR no nick');
  expect(await say(other, 'HELLO')).toBe('ERR unknown command');
});

test('MSG reaches the other members of the room', stage(2, 1), async () => {
  const bob = await login('bob');
  const cat = await login('cat');
  expect(await say(bob, 'JOIN #tea')).toBe('OK');
  expect(await say(cat, 'JOIN #tea')).toBe('OK');
  expect(await bob.readLine()).toBe('JOINED #tea cat');
  expect(await say(cat, 'MSG #tea hi all')).toBe('OK');
  expect(await bob.readLine()).toBe('MSG #tea cat hi all');
  expect(await say(bob, 'WHO #tea')).toBe('WHO #tea bob cat');
});

test('QUIT: BYE, and the room hears QUIT', stage(3, 1), async () => {
  const dan = await login('dan');
  const eve = await login('eve');
  expect(await say(dan, 'JOIN #q')).toBe('OK');
  expect(await say(eve, 'JOIN #q')).toBe('OK');
  expect(await dan.readLine()).toBe('JOINED #q eve');
  expect(await say(eve, 'QUIT')).toBe('BYE');
  expect(await dan.readLine()).toBe('QUIT eve');
});

test('three senders at once: both observers see one order', stage(4, 1), async () => {
  const observers = [await login('obs1'), await login('obs2')];
  const senders = [await login('s1'), await login('s2'), await login('s3')];
  for (const client of observers) expect(await say(client, 'JOIN #order')).toBe('OK');
  for (const client of senders) expect(await say(client, 'JOIN #order')).toBe('OK');
  await Promise.all(senders.map((s, i) => s.write(Array.from({ length: 10 }, (_, n) => `MSG #order ${i}:${n}\n`).join(''))));
  const views = await Promise.all(
    observers.map(async (o) => {
      const seen: string[] = [];
      while (seen.length < 30) {
        const line = await o.readLine();
        if (line.startsWith('MSG ')) seen.push(line);
      }
      return seen;
    }),
  );
  expect(views[1]).toEqual(views[0]);
});

test('a silent client gets PING and is dropped without PONG', stage(5, 1), async () => {
  const fay = await login('fay');
  expect(await fay.readLine(2_500)).toMatch(/^PING \S+$/);
  expect(await fay.expectClosed(2_500)).toBeTruthy();
});

import { setImmediate as yieldTurn } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { seededRandom, stage, useSubmission } from 'netkata/harness';
import { type ChatClient, joinAll, loginAll } from './chat.ts';

const server = useSubmission();

test('one sender pipelining 500 messages in one write: every member gets them in the order sent', stage(4, 5), async () => {
  const [pia, rob, sol] = await loginAll(server, ['pia', 'rob', 'sol']);
  await joinAll('#pipe', [pia!, rob!, sol!]);
  const count = 500;
  await pia!.sendRaw(Array.from({ length: count }, (_, i) => `MSG #pipe n=${i}\n`).join(''));
  await Promise.all([
    (async () => {
      for (let i = 0; i < count; i++) expect(await pia!.reply(10_000), `the reply to MSG n=${i}`).toBe('OK');
    })(),
    ...[rob!, sol!].map(async (member) => {
      for (let i = 0; i < count; i++) expect(await member.push(10_000), `${member.label}: message ${i} of pia's 500`).toBe(`MSG #pipe pia n=${i}`);
    }),
  ]);
});

const SENDERS = 50;
const PER_SENDER = 20;

/**
 * Each member's view of the room: the senders' messages as `nick:n`, in the order it got them.
 * Senders also collect their OKs.
 */
async function collect(member: ChatClient, expected: number, oks: number): Promise<string[]> {
  const seen: string[] = [];
  const reading = (async () => {
    while (seen.length < expected) {
      const line = await member.push(20_000, `message ${seen.length + 1} of ${expected}`);
      const match = /^MSG #order (\S+) (\d+)$/.exec(line);
      if (!match) {
        if (line.startsWith('JOINED #order ')) continue;
        throw new Error(`${member.label} got an unexpected line: ${JSON.stringify(line)}`);
      }
      seen.push(`${match[1]}:${match[2]}`);
    }
  })();
  reading.catch(() => {}); // awaited below, after the replies
  for (let i = 0; i < oks; i++) expect(await member.reply(20_000), `${member.label}: the reply to its MSG ${i}`).toBe('OK');
  await reading;
  return seen;
}

test('50 concurrent senders: every member sees the room in one and the same order, each sender in the order sent', stage(4, 10), async () => {
  const senders = await loginAll(
    server,
    Array.from({ length: SENDERS }, (_, i) => `s${String(i).padStart(2, '0')}`),
  );
  const observers = await loginAll(server, ['obs1', 'obs2']);
  const members = [...senders, ...observers];
  for (const member of members) await member.join('#order');
  for (const member of members) member.discardPushes(/^JOINED #order /);

  // Every sender writes its messages in bursts of 1-3 lines with a turn of the event loop in
  // between, all at once, so lines from different senders interleave at the server.
  const views = await Promise.all(
    members.map(async (member, index) => {
      const isSender = index < SENDERS;
      const collecting = collect(member, isSender ? (SENDERS - 1) * PER_SENDER : SENDERS * PER_SENDER, isSender ? PER_SENDER : 0);
      collecting.catch(() => {}); // awaited after the sends
      if (isSender) {
        const random = seededRandom(400 + index);
        for (let n = 0; n < PER_SENDER;) {
          const burst = Math.min(PER_SENDER - n, 1 + Math.floor(random() * 3));
          await member.sendRaw(Array.from({ length: burst }, (_, k) => `MSG #order ${n + k}\n`).join(''));
          n += burst;
          await yieldTurn();
        }
      }
      return { member, view: await collecting };
    }),
  );

  const reference = views.find((v) => v.member.label === 'obs1')!.view;
  // Each sender's messages in the order sent, each exactly once.
  for (const { member, view } of views) {
    const next = new Map<string, number>();
    for (const entry of view) {
      const [nick, n] = entry.split(':') as [string, string];
      const expected = next.get(nick) ?? 0;
      if (Number(n) !== expected) throw new Error(`${member.label} got ${nick}'s messages out of the order sent: ${entry} where ${nick}:${expected} was next`);
      next.set(nick, expected + 1);
    }
  }
  // One order for all: a sender's view is obs1's without its own messages.
  for (const { member, view } of views) {
    const expected = reference.filter((entry) => !entry.startsWith(`${member.label}:`));
    const first = expected.findIndex((entry, i) => view[i] !== entry);
    if (first >= 0) {
      throw new Error(
        `${member.label} and obs1 saw #order in different orders: message ${first + 1} was ${view[first]} for ${member.label}, ${expected[first]} for obs1 (${view.length} and ${expected.length} messages)`,
      );
    }
  }
});

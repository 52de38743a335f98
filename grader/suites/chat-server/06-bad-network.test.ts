import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { figure, stage, useSubmission } from 'netkata/harness';
import { ChatClient, joinAll, loginAll, percentile } from './chat.ts';

// Stage 6 runs under the manifest's bad-network profile (wan: 20 ms ± 5 ms each way). The
// heartbeat is shortened so that a long partition outlasts it within seconds; a brief one
// stays well inside it. The test clients answer PINGs, as a chat client would.
const PING_INTERVAL_MS = 3_000;
const PING_TIMEOUT_MS = 2_000;
/** The README allows a PING, and a drop, up to 1 s late. */
const LATE_MS = 1_000;
const server = useSubmission({ env: { PING_INTERVAL_MS: String(PING_INTERVAL_MS), PING_TIMEOUT_MS: String(PING_TIMEOUT_MS) } });

const MEMBERS = 200;
const MESSAGES = 20;
const GAP_MS = 50;
/** The bound on fan-out delivery; the link itself adds about 40 ms (one way up, one down). */
const P99_BOUND_MS = 1_000;

test('fan-out to 200 members across the link: p99 delivery within 1 s of the send', stage(6, 5, { timeout: 60_000 }), async ({ task }) => {
  const members = await Promise.all(
    Array.from({ length: MEMBERS }, (_, i) => ChatClient.login(server, `m${String(i).padStart(3, '0')}`, { connectTimeoutMs: 15_000 })),
  );
  await Promise.all(members.map((m) => m.join('#fan')));
  const herald = await ChatClient.login(server, 'herald');
  await herald.join('#fan');

  const sentAt: number[] = [];
  const latencies: number[] = [];
  const receiving = members.map(async (member) => {
    for (let n = 0; n < MESSAGES;) {
      const push = await member.pushTimed(10_000, `fan-out message ${n} of ${MESSAGES}`);
      if (push.line.startsWith('JOINED #fan ')) continue;
      expect(push.line, `${member.label}: fan-out message ${n}`).toBe(`MSG #fan herald ${n}`);
      latencies.push(push.atMs - sentAt[n]!);
      n++;
    }
  });
  const replies = (async () => {
    for (let n = 0; n < MESSAGES; n++) expect(await herald.reply(10_000), `the reply to fan-out message ${n}`).toBe('OK');
  })();
  const received = Promise.all([...receiving, replies]);
  received.catch(() => {}); // awaited after the sends; a failure meanwhile is not unhandled
  for (let n = 0; n < MESSAGES; n++) {
    sentAt[n] = performance.now();
    await herald.send(`MSG #fan ${n}`);
    await sleep(GAP_MS);
  }
  await received;

  const p99 = percentile(latencies, 99);
  task.meta.measurements = {
    deliveries: latencies.length,
    p50Ms: Math.round(percentile(latencies, 50)),
    maxMs: Math.round(Math.max(...latencies)),
  };
  figure(task, 'p99Ms', Math.round(p99), { max: P99_BOUND_MS });
  expect(p99, `p99 of ${latencies.length} deliveries (send to arrival), ms`).toBeLessThan(P99_BOUND_MS);
});

/** Shorter than the heartbeat's interval: a correct server does not even notice. */
const BRIEF_PARTITION_MS = 1_500;

test('a brief partition (1.5 s) loses no message and drops nobody', stage(6, 5, { timeout: 60_000 }), async ({ task }) => {
  const [ana, bea, cid] = await loginAll(server, ['ana', 'bea', 'cid']);
  await joinAll('#brief', [ana!, bea!, cid!]);
  await server.link.partition();
  const cut = performance.now();
  // Sent into the outage: TCP keeps them and retransmits once the link is back.
  await ana!.send('MSG #brief sent during the outage');
  await bea!.send('PRIV cid also during the outage');
  await sleep(BRIEF_PARTITION_MS - (performance.now() - cut));
  await server.link.heal();
  const healed = performance.now();
  expect(await ana!.reply(15_000, 'OK for the MSG sent during the outage')).toBe('OK');
  expect(await bea!.reply(15_000, 'OK for the PRIV sent during the outage')).toBe('OK');
  await bea!.expectPush('MSG #brief ana sent during the outage', 15_000);
  // Two senders' lines retransmitted after the outage: either may reach the server first.
  const atCid = [await cid!.push(15_000), await cid!.push(15_000)].sort();
  expect(atCid, 'what cid got from ana and bea during the outage').toEqual(['MSG #brief ana sent during the outage', 'PRIV bea also during the outage']);
  const deliveredAfterHealMs = performance.now() - healed;
  await cid!.expectReply('MSG #brief and after it', 'OK');
  await ana!.expectPush('MSG #brief cid and after it');
  await bea!.expectPush('MSG #brief cid and after it');
  for (const client of [ana!, bea!, cid!]) await client.expectNoPushes('nobody left during a brief outage');
  await ana!.expectReply('WHO #brief', 'WHO #brief ana bea cid');
  task.meta.measurements = { partitionMs: Math.round(healed - cut), deliveredAfterHealMs: Math.round(deliveredAfterHealMs) };
});

/** Past the latest drop the README allows: silent for the interval, then unanswered for the timeout, each up to 1 s late; 1 s to spare. */
const LONG_PARTITION_MS = PING_INTERVAL_MS + LATE_MS + PING_TIMEOUT_MS + LATE_MS + 1_000;

test(
  'a long partition (8 s) drops everyone by heartbeat: their connections are gone, their nicks free, the room empty',
  stage(6, 5, { timeout: 60_000 }),
  async ({ task }) => {
    const olds = await loginAll(server, ['dee', 'eli', 'fin']);
    await joinAll('#cut', olds);
    await server.link.partition();
    const cut = performance.now();
    await sleep(LONG_PARTITION_MS);
    await server.link.heal();
    const partitionMs = performance.now() - cut;
    // The QUITs the server sent during the outage cannot reach anyone: every client is behind the
    // same link. What is observable afterwards: the server closed the old connections (its FIN
    // or reset was lost, so a line sent now draws a reset), and their nicks and room are gone.
    const endings = await Promise.all(
      olds.map(async (old) => {
        // A write can fail if the server's FIN got here first: closed is what is being checked.
        await old.send('WHO #cut').catch(() => {});
        return old.expectDropped(10_000);
      }),
    );
    for (const [i, ending] of endings.entries()) {
      const quits = ending.lines.filter((l) => l.startsWith('QUIT '));
      expect(new Set(quits).size, `${olds[i]!.label}: QUIT lines that got through before the close (${quits.join(', ')}), one per departure`).toBe(
        quits.length,
      );
    }
    const newcomer = await ChatClient.connect(server, 'newcomer', { connectTimeoutMs: 15_000 });
    for (const old of olds) await newcomer.expectReply(`NICK ${old.label}`, 'OK');
    await newcomer.expectReply('WHO #cut', 'WHO #cut');
    task.meta.measurements = { partitionMs: Math.round(partitionMs) };
  },
);

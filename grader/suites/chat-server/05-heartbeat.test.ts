import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { figure, stage, useSubmission } from 'netkata/harness';
import { ChatClient, joinAll } from './chat.ts';

const PING_INTERVAL_MS = 1_000;
const PING_TIMEOUT_MS = 1_000;
/** The README allows a PING, and a drop, up to 1 s late. */
const LATE_MS = 1_000;
/** What the clean link and the two processes' timers may add or take away (measured: a few ms). */
const SLACK_MS = 300;

const server = useSubmission({ env: { PING_INTERVAL_MS: String(PING_INTERVAL_MS), PING_TIMEOUT_MS: String(PING_TIMEOUT_MS) } });

/** Waits for `PING <token>`, no sooner than PING_INTERVAL_MS after `since`. */
async function expectPing(client: ChatClient, since: number, what: string): Promise<{ token: string; atMs: number; afterMs: number }> {
  const push = await client.pushTimed(PING_INTERVAL_MS + LATE_MS + SLACK_MS, `PING, ${what}`);
  const afterMs = push.atMs - since;
  const match = /^PING (\S+)$/.exec(push.line);
  expect(match, `${client.label}: expected "PING <token>", got ${JSON.stringify(push.line)}`).not.toBeNull();
  expect(
    afterMs,
    `${client.label} got PING ${Math.round(afterMs)} ms ${what}; it was silent for less than PING_INTERVAL_MS (${PING_INTERVAL_MS} ms)`,
  ).toBeGreaterThanOrEqual(PING_INTERVAL_MS - SLACK_MS);
  return { token: match![1]!, atMs: push.atMs, afterMs };
}

test('a silent client gets PING after PING_INTERVAL_MS; answering PONG keeps it, and it is pinged again', stage(5, 4), async ({ task }) => {
  const tam = await ChatClient.login(server, 'tam', { autoPong: false });
  await tam.join('#hb');
  const first = await expectPing(tam, performance.now(), 'after its last line');
  await tam.send(`PONG ${first.token}`);
  const second = await expectPing(tam, performance.now(), 'after its PONG');
  await tam.send(`PONG ${second.token}`);
  // From here PINGs are answered as they come. Past the time a server that ignored the PONG
  // would have dropped tam, it must still be here.
  tam.autoPong = true;
  await sleep(PING_TIMEOUT_MS + LATE_MS + SLACK_MS);
  await tam.expectReply('WHO #hb', 'WHO #hb tam');
  expect(tam.pingsAnswered, 'PINGs after the second PONG (one every PING_INTERVAL_MS of silence)').toBeGreaterThanOrEqual(1);
  figure(task, 'firstPingAfterMs', Math.round(first.afterMs), { min: PING_INTERVAL_MS - SLACK_MS, max: PING_INTERVAL_MS + LATE_MS + SLACK_MS });
  figure(task, 'secondPingAfterMs', Math.round(second.afterMs), { min: PING_INTERVAL_MS - SLACK_MS, max: PING_INTERVAL_MS + LATE_MS + SLACK_MS });
});

test('a client that never answers PING is dropped after PING_TIMEOUT_MS, and its room hears QUIT once', stage(5, 4), async ({ task }) => {
  const uma = await ChatClient.login(server, 'uma', { autoPong: false });
  const val = await ChatClient.login(server, 'val'); // answers its PINGs
  await joinAll('#hb2', [uma, val]);
  const ping = await expectPing(uma, performance.now(), 'after its last line');
  await uma.expectDropped(PING_TIMEOUT_MS + LATE_MS + SLACK_MS);
  const droppedAfterMs = performance.now() - ping.atMs;
  figure(task, 'droppedAfterPingMs', Math.round(droppedAfterMs), { min: PING_TIMEOUT_MS - SLACK_MS, max: PING_TIMEOUT_MS + LATE_MS + SLACK_MS });
  expect(
    droppedAfterMs,
    `uma was dropped ${Math.round(droppedAfterMs)} ms after its PING, before PING_TIMEOUT_MS (${PING_TIMEOUT_MS} ms)`,
  ).toBeGreaterThanOrEqual(PING_TIMEOUT_MS - SLACK_MS);
  await val.expectPush('QUIT uma');
  await val.expectNoPushes('one QUIT per departure');
  await val.expectReply('WHO #hb2', 'WHO #hb2 val');
  task.meta.measurements = { ...task.meta.measurements, pingAfterMs: Math.round(ping.afterMs) };
});

test('a client that keeps talking is never pinged', stage(5, 2), async () => {
  const wes = await ChatClient.login(server, 'wes', { autoPong: false });
  // A line every 300 ms for three intervals: never silent for PING_INTERVAL_MS.
  for (let elapsed = 0; elapsed < 3 * PING_INTERVAL_MS; elapsed += 300) {
    await sleep(300);
    await wes.expectReply('WHO #talk', 'WHO #talk');
  }
  await wes.expectNoPushes('it was never silent for PING_INTERVAL_MS, so no PING');
});

import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { stage, useSubmission, type TcpConnection } from 'netkata/harness';
import { askStats, eventually, expectLine, round } from './lines.ts';

// A short timeout, so the tests take seconds: the server must read it from IDLE_TIMEOUT_MS.
const IDLE_TIMEOUT_MS = 1_000;
const server = useSubmission({ env: { IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) } });

/** Timers fire a little late, never much early (the client's clock starts before the server's). */
const EARLY_MS = 50;
const LATE_MS = 1_500;

/** Waits for "ERR idle timeout" and the close after it; returns ms since `since`. */
async function expectTimedOut(client: TcpConnection, since: number, what: string): Promise<number> {
  await expectLine(client, 'ERR idle timeout', what, IDLE_TIMEOUT_MS + LATE_MS + 1_000);
  const elapsedMs = performance.now() - since;
  await client.expectClosed(2_000);
  return elapsedMs;
}

test('a connection that sends nothing, or nothing more, is timed out after IDLE_TIMEOUT_MS and closed', stage(6, 2), async ({ task }) => {
  const silentSince = performance.now();
  await using silent = await server.connect({ label: 'silent' });
  await using done = await server.connect({ label: 'done' });
  await done.write('ECHO one and done\n');
  await expectLine(done, 'one and done', 'ECHO before going idle');
  const doneSince = performance.now();
  const [silentMs, doneMs] = await Promise.all([
    expectTimedOut(silent, silentSince, 'a connection that never sent anything'),
    expectTimedOut(done, doneSince, 'a connection idle after one ECHO'),
  ]);
  task.meta.measurements = { silentTimedOutMs: Math.round(silentMs), idleTimedOutMs: Math.round(doneMs) };
  for (const [ms, what] of [
    [silentMs, 'silent connection'],
    [doneMs, 'connection idle after its answer'],
  ] as const) {
    expect(round(ms), `ms until the ${what} was timed out (IDLE_TIMEOUT_MS=${IDLE_TIMEOUT_MS})`).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - EARLY_MS);
    expect(round(ms), `ms until the ${what} was timed out (IDLE_TIMEOUT_MS=${IDLE_TIMEOUT_MS})`).toBeLessThan(IDLE_TIMEOUT_MS + LATE_MS);
  }
});

test('slowloris: bytes of an unfinished line do not count as activity', stage(6, 3), async ({ task }) => {
  await using client = await server.connect();
  await client.write('ECHO start\n');
  await expectLine(client, 'start', 'ECHO before trickling');
  const since = performance.now();
  // One byte of a line that never ends, every 100 ms, for up to 4 timeouts.
  let stop = false;
  const trickling = (async () => {
    for (const byte of Buffer.from(`ECHO ${'never finished '.repeat(10)}`)) {
      if (stop || performance.now() - since > 4 * IDLE_TIMEOUT_MS) return;
      try {
        await client.write(Buffer.of(byte));
      } catch {
        return; // closed by the server: the point
      }
      await sleep(100);
    }
  })();
  try {
    const ms = await expectTimedOut(client, since, 'a client sending one byte of an unfinished line every 100 ms');
    task.meta.measurements = { timedOutMs: Math.round(ms) };
    expect(round(ms), `ms from the last complete line until the trickling client was timed out`).toBeLessThan(IDLE_TIMEOUT_MS + LATE_MS);
  } finally {
    stop = true;
    await trickling;
  }
});

test('a client sending a complete command every 300 ms is never timed out', stage(6, 3), async () => {
  await using client = await server.connect();
  for (let i = 0; i < 10; i++) {
    await client.write(`ECHO keepalive ${i}\n`);
    await expectLine(client, `keepalive ${i}`, `ECHO ${i + 1} of 10, ${i * 300} ms in (IDLE_TIMEOUT_MS=${IDLE_TIMEOUT_MS})`);
    await sleep(300);
  }
});

test('a SLEEP longer than the timeout is not idleness: the timeout counts from its answer', stage(6, 3), async ({ task }) => {
  await using client = await server.connect();
  await client.write('SLEEP 1800\n');
  await expectLine(
    client,
    'SLEPT 1800',
    `SLEEP 1800 (longer than IDLE_TIMEOUT_MS=${IDLE_TIMEOUT_MS}): the connection waits for its answer, it is not idle`,
    5_000,
  );
  const since = performance.now();
  const ms = await expectTimedOut(client, since, 'a connection idle after SLEPT 1800');
  task.meta.measurements = { timedOutAfterAnswerMs: Math.round(ms) };
  expect(round(ms), 'ms from SLEPT 1800 until the timeout').toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - EARLY_MS);
});

test('100 idle connections time out together while an active one stays; STATS counts them gone', stage(6, 1), async () => {
  await using active = await server.connect({ label: 'active' });
  const idle: TcpConnection[] = [];
  for (let i = 0; i < 100; i++) idle.push(await server.connect({ label: `i${i + 1}` }));
  const since = performance.now();
  const timeouts = Promise.all(idle.map((c, i) => expectTimedOut(c, since, `idle connection ${i + 1} of 100`)));
  timeouts.catch(() => {}); // awaited below
  for (let i = 0; performance.now() - since < IDLE_TIMEOUT_MS + LATE_MS; i++) {
    await active.write(`ECHO active ${i}\n`);
    await expectLine(active, `active ${i}`, `ECHO ${i + 1} on the active connection`);
    await sleep(250);
  }
  await timeouts;
  let conns = -1;
  await eventually(async () => (conns = (await askStats(active)).conns) === 1, 2_000);
  expect(conns, 'STATS conns once the 100 idle connections were timed out (the active one is left)').toBe(1);
});

import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { stage, useSubmission, type TcpConnection } from 'netkata/harness';
import { ask, openCrowd } from './crowd.ts';
import { askStats, expectAlive, expectLine, GiB, MiB, percentile, round, roundTripMs } from './lines.ts';
import { startStreamReader } from './stream-reader.ts';

const server = useSubmission();

const CROWD = 5_000;
/** The p99 of ECHO round trips on a quiet connection while another one streams at full speed. */
const P99_BOUND_MS = 100;
/** A round trip slower than this waited for someone else's SLEEP (1,500 ms) or bytes. */
const NOT_DELAYED_MS = 250;

test('5,000 concurrent connections, every one answered', stage(5, 6, { timeout: 60_000 }), async ({ task }) => {
  await using probe = await server.connect({ label: 'probe' });
  await expectAlive(probe);
  await using crowd = await openCrowd(server, CROWD, 250);
  const started = performance.now();
  const answers = await Promise.allSettled(crowd.sockets.map((s, i) => ask(s, `ECHO ${i}\n`, 20_000)));
  const answerMs = performance.now() - started;
  const stats = await server.processStats();
  const counted = await askStats(probe);
  task.meta.measurements = {
    connections: crowd.sockets.length,
    openMs: Math.round(crowd.openMs),
    answerMs: Math.round(answerMs),
    threads: stats.threads,
    memoryBytes: stats.memoryBytes,
    ...(stats.peakMemoryBytes ? { peakMemoryBytes: stats.peakMemoryBytes } : {}),
  };
  const wrong = answers.flatMap((a, i) => {
    if (a.status === 'rejected') return [`connection ${i}: ${(a.reason as Error).message}`];
    return a.value === String(i) ? [] : [`connection ${i}: expected ${JSON.stringify(String(i))}, got ${JSON.stringify(a.value.slice(0, 40))}`];
  });
  expect(wrong.length, `${wrong.length} of ${CROWD} connections not answered right, e.g.\n${wrong.slice(0, 5).join('\n')}`).toBe(0);
  expect(counted.conns, 'STATS conns with 5,000 more connections open').toBeGreaterThanOrEqual(CROWD + 1);
  await expectAlive(probe);
});

test('ECHO round trips stay under 100 ms (p99) while another connection streams at full speed', stage(5, 6, { timeout: 60_000 }), async ({ task }) => {
  await using pinger = await server.connect({ label: 'ping' });
  await expectAlive(pinger);
  const stream = startStreamReader(server.endpoint, GiB);
  try {
    const deadline = Date.now() + 5_000;
    while (stream.received() < MiB && !stream.problem() && Date.now() < deadline) await sleep(10);
    expect(stream.problem(), 'the stream').toBeUndefined();
    expect(stream.received(), 'bytes of STREAM received in the first 5 s').toBeGreaterThanOrEqual(MiB);

    const streamedBefore = stream.received();
    const startedAt = performance.now();
    const rtts: number[] = [];
    for (let i = 0; i < 200; i++) rtts.push(await roundTripMs(pinger, `ping ${i}`, 5_000));
    const streamedDuring = stream.received() - streamedBefore;
    const durationMs = performance.now() - startedAt;
    const p99 = percentile(rtts, 99);
    task.meta.measurements = {
      p50Ms: round(percentile(rtts, 50)),
      p99Ms: round(p99),
      maxMs: round(Math.max(...rtts)),
      streamedDuringBytes: streamedDuring,
      streamMiBPerSecond: round(streamedDuring / MiB / (durationMs / 1000)),
    };
    expect(stream.problem(), 'the stream').toBeUndefined();
    expect(streamedDuring, 'STREAM bytes received while the 200 ECHOs ran (the stream must keep going)').toBeGreaterThan(0);
    expect(round(p99), `p99 of 200 ECHO round trips while another connection streams (ms); all: ${rtts.map((r) => Math.round(r)).join(' ')}`).toBeLessThan(
      P99_BOUND_MS,
    );
  } finally {
    // Hanging up in the middle of a stream is that client's business only.
    await stream.stop();
  }
  await expectAlive(pinger);
});

test('a client sending one byte at a time does not slow the others', stage(5, 4, { timeout: 60_000 }), async ({ task }) => {
  await using slow = await server.connect({ label: 'slow' });
  await using pinger = await server.connect({ label: 'ping' });
  await expectAlive(pinger);
  // A byte every 10 ms: each line takes half a second to arrive. A server that waits for the
  // rest of a line before serving anyone else delays the pings by that much.
  const text = 'one byte at a time, every 10 ms, never all at once';
  let stop = false;
  let linesSent = 0;
  const trickling = (async () => {
    while (!stop) {
      for (const byte of Buffer.from(`ECHO ${text}\n`)) {
        await slow.write(Buffer.of(byte));
        await sleep(10);
      }
      linesSent++;
    }
  })();
  const rtts: number[] = [];
  try {
    while (rtts.length < 100 || linesSent < 2) {
      rtts.push(await roundTripMs(pinger, `ping ${rtts.length}`, 5_000));
      await sleep(10);
    }
  } finally {
    stop = true;
    await trickling;
  }
  task.meta.measurements = { p99Ms: round(percentile(rtts, 99)), maxMs: round(Math.max(...rtts)), trickledLines: linesSent };
  expect(
    round(percentile(rtts, 99)),
    `p99 of ${rtts.length} ECHO round trips while another client sends single bytes (ms); all: ${rtts.map((r) => Math.round(r)).join(' ')}`,
  ).toBeLessThan(P99_BOUND_MS);
  for (let i = 0; i < linesSent; i++) await expectLine(slow, text, `line ${i + 1} of the one-byte-at-a-time client`);
});

test('SLEEP on one connection does not delay the others', stage(5, 5), async ({ task }) => {
  await using sleeper = await server.connect({ label: 'sleeper' });
  const others: TcpConnection[] = [];
  for (let i = 0; i < 4; i++) others.push(await server.connect({ label: `o${i + 1}` }));
  for (const o of others) await expectAlive(o);
  const started = performance.now();
  await sleeper.write('SLEEP 1500\n');
  await sleep(50);
  const rtts: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (const [i, o] of others.entries()) rtts.push(await roundTripMs(o, `o${i + 1} round ${round}`, 5_000));
  }
  task.meta.measurements = { maxMs: round(Math.max(...rtts)) };
  expect(round(Math.max(...rtts)), 'the slowest of 20 ECHO round trips on other connections during a SLEEP 1500 (ms)').toBeLessThan(NOT_DELAYED_MS);
  await expectLine(sleeper, 'SLEPT 1500', 'SLEEP 1500', 5_000);
  expect(performance.now() - started, 'ms until SLEPT 1500').toBeGreaterThanOrEqual(1_495);
});

test('SLEEPs on 20 connections run at the same time', stage(5, 4), async ({ task }) => {
  const sleepers: TcpConnection[] = [];
  for (let i = 0; i < 20; i++) sleepers.push(await server.connect({ label: `s${i + 1}` }));
  for (const s of sleepers) await expectAlive(s);
  const started = performance.now();
  await Promise.all(sleepers.map((s) => s.write('SLEEP 500\n')));
  await Promise.all(sleepers.map((s, i) => expectLine(s, 'SLEPT 500', `SLEEP 500 on connection ${i + 1}`, 3_000)));
  const elapsedMs = performance.now() - started;
  task.meta.measurements = { allSleptMs: Math.round(elapsedMs) };
  // One after another they would take 10 s.
  expect(Math.round(elapsedMs), 'ms until all 20 SLEEP 500 were answered').toBeLessThan(1_500);
  expect(elapsedMs).toBeGreaterThanOrEqual(495);
});

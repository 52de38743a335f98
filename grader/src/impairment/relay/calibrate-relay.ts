import net from 'node:net';
import { once } from 'node:events';
import { attemptSeed, measureTwice, type Calibration, type CalibrationCheck } from '../calibrate.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { dropProbability, type LinkSpec } from '../profile.ts';
import { TcpRelay } from './tcp-relay.ts';

const SAMPLES = 60;
/** Node timers fire late, by a millisecond on an idle machine and more on a busy one; the relay waits on one per direction. */
const TIMER_SLACK_MS = 5;

/**
 * Calibrates the local relay: round trips of one byte through it to an echo server here. A
 * stream shows delay and stalls, not loss or duplication (TCP hides those), so only the median
 * round trip is checked, against the profile's delays: within max(2 ms, 10 %), where a lost
 * segment's stall lands in the tail, not at the median, as long as loss stays below 50 %.
 * The upper bound allows TIMER_SLACK_MS more for the relay's own timers.
 */
export async function calibrateRelay(link: LinkSpec, seed: number): Promise<Calibration> {
  const started = Date.now();
  const result = await measureTwice(link.name, (attempt) => measureRelay(link, attemptSeed(seed, attempt)));
  return { ...result, durationMs: Date.now() - started };
}

async function measureRelay(link: LinkSpec, seed: number): Promise<Calibration> {
  const started = Date.now();
  const echo = net.createServer((socket) => socket.pipe(socket));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const relay = await TcpRelay.start({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port }, link, seed);
  const rtts: number[] = [];
  try {
    const socket = net.connect(relay.endpoint);
    socket.setNoDelay(true);
    await once(socket, 'connect');
    if (dropProbability(link.ingress) >= 1 || dropProbability(link.egress) >= 1) {
      // A blackhole: one byte must not come back.
      let arrived = 0;
      socket.on('data', (chunk: Buffer) => (arrived += chunk.length));
      socket.write('x');
      await sleep(1_000);
      socket.destroy();
      const check: CalibrationCheck = { name: 'bytes through a blackhole', measured: arrived, expected: 0, accepted: [0, 0], ok: arrived === 0, unit: 'bytes' };
      return { profile: link.name, backend: 'relay', ok: check.ok, attempts: 1, probes: 1, figures: {}, checks: [check], durationMs: Date.now() - started };
    }
    for (let i = 0; i < SAMPLES; i++) {
      const sent = performance.now();
      socket.write('x');
      await once(socket, 'data');
      rtts.push(performance.now() - sent);
    }
    socket.destroy();
  } finally {
    await relay.close();
    echo.close();
  }
  rtts.sort((a, b) => a - b);
  const measured = Math.round(rtts[Math.floor(rtts.length / 2)]! * 100) / 100;
  const expected = link.ingress.delayMs + link.egress.delayMs;
  const tolerance = Math.max(2, 0.1 * expected);
  const accepted = [expected - tolerance, expected + tolerance + (expected > 0 ? TIMER_SLACK_MS : 0)] as const;
  const check: CalibrationCheck = { name: 'median RTT', measured, expected, accepted, ok: measured >= accepted[0] && measured <= accepted[1], unit: 'ms' };
  return {
    profile: link.name,
    backend: 'relay',
    ok: check.ok,
    attempts: 1,
    probes: SAMPLES,
    figures: { medianRttMs: measured, p90RttMs: Math.round(rtts[Math.floor(rtts.length * 0.9)]! * 100) / 100 },
    checks: [check],
    durationMs: Date.now() - started,
  };
}

import dgram from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../log.ts';
import type { Endpoint } from '../endpoint.ts';
import type { ImpairmentBackend } from './backend-commands.ts';
import { binomialInterval, inflatedInterval } from './binomial.ts';
import { dropProbability, type DirectionName, type LinkDirection, type LinkSpec } from './profile.ts';
import { sampleDelayMs, seededRandom } from './sampling.ts';

const log = logger('calibrate');

/** Counters the probe keeps (grader/src/impairment/probe/probe.cjs). */
export interface ProbeStats {
  readonly datagrams: number;
  readonly distinct: number;
  readonly replies: number;
  /** The rate filler phase the byte count belongs to. */
  readonly ratePhase: number;
  readonly rateBytes: number;
  readonly rateFirstMs: number;
  readonly rateLastMs: number;
}

/** A probe process behind the impaired link, answering UDP on `target`. */
export interface Probe {
  readonly target: Endpoint;
  stats(): Promise<ProbeStats>;
  /**
   * The impairment engine's counters, where it keeps them (the userspace engine's `timed` and
   * `lateness_us`: how late its timers released held packets); undefined for netem.
   */
  engineStats?(): Promise<Readonly<Record<string, number>> | undefined>;
}

export interface CalibrationCheck {
  readonly name: string;
  readonly measured: number;
  readonly expected: number;
  /** The accepted range of `measured`. */
  readonly accepted: readonly [number, number];
  readonly ok: boolean;
  readonly unit: string;
}

export interface Calibration {
  readonly profile: string;
  readonly backend: ImpairmentBackend;
  readonly ok: boolean;
  /** Measurement rounds: a failed check is measured once more with fresh probes. */
  readonly attempts: number;
  readonly probes: number;
  readonly figures: Readonly<Record<string, number>>;
  readonly checks: readonly CalibrationCheck[];
  readonly durationMs: number;
  /**
   * `full`: PROBE_COUNT probes and the rate phases. `reverified`: this machine and engine were
   * calibrated in full for this profile before (`reference`), and this run only checked, with
   * REVERIFY_PROBES probes, that its link still measures the same.
   */
  readonly method?: 'full' | 'reverified';
  readonly reference?: { readonly calibratedAt: string; readonly probes: number; readonly figures: Readonly<Record<string, number>> };
}

const PROBE_COUNT = 400;
/** A re-verification's probes: enough for the median RTT within a millisecond and gross loss. */
const REVERIFY_PROBES = 100;
const PROBE_SPACING_MS = 2.5;
const PROBE_BYTES = 64;
const RATE_PHASE_MS = 1_000;
const RATE_DATAGRAM_BYTES = 1_200;

/** The delay a direction gives a packet, reordered ones (sent at once) included. */
function packetDelayMs(direction: LinkDirection, random: () => number): number {
  return random() * 100 < direction.reorderPercent ? 0 : sampleDelayMs(direction, random);
}

/** The median round trip the profile implies, by simulating its delay distributions. */
export function expectedMedianRttMs(link: LinkSpec): number {
  const random = seededRandom(1);
  const samples = Array.from({ length: 20_001 }, () => packetDelayMs(link.ingress, random) + packetDelayMs(link.egress, random)).sort((a, b) => a - b);
  return samples[10_000]!;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/**
 * A count against its expected rate: inside the 99 % binomial interval, or, for burst loss
 * (correlated drops), a normal interval with the variance inflated by the Gilbert-Elliott
 * chain's correlation.
 */
function rateCheck(name: string, k: number, n: number, p: number, direction?: LinkDirection): CalibrationCheck {
  let interval = binomialInterval(n, p);
  const burst = direction?.burstLoss;
  if (burst) {
    const lambda = 1 - burst.enterBadPercent / 100 - burst.leaveBadPercent / 100;
    interval = inflatedInterval(n, p, (1 + Math.abs(lambda)) / (1 - Math.abs(lambda)));
  }
  const measured = n === 0 ? 0 : k / n;
  return {
    name,
    measured: round(measured * 100, 2),
    expected: round(p * 100, 2),
    accepted: [round((interval.lo / Math.max(n, 1)) * 100, 2), round((interval.hi / Math.max(n, 1)) * 100, 2)],
    ok: k >= interval.lo && k <= interval.hi,
    unit: '%',
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

async function openSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0);
  await once(socket, 'listening');
  return socket;
}

/**
 * How late, on average, the engine's timers released the packets it held during a round, in ms:
 * 0 without its counters (netem) or when it held nothing.
 */
export function meanLatenessMs(before: Readonly<Record<string, number>> | undefined, after: Readonly<Record<string, number>> | undefined): number {
  if (!before || !after) return 0;
  const timed = (after.timed ?? 0) - (before.timed ?? 0);
  const lateUs = (after.lateness_us ?? 0) - (before.lateness_us ?? 0);
  return timed > 0 && lateUs > 0 ? lateUs / timed / 1000 : 0;
}

/** Sends the echo probes; returns what came back. */
async function echoRound(probe: Probe, link: LinkSpec, seqBase: number, count = PROBE_COUNT) {
  const socket = await openSocket();
  const sentAt = new Map<number, number>();
  const firstReply = new Map<string, number>();
  const rtts: number[] = [];
  let replies = 0;
  let inversions = 0;
  let corrupted = 0;
  let highest = -1;
  socket.on('message', (message) => {
    if (message.length < 10 || message.toString('latin1', 0, 4) !== 'NKCP') return;
    const seq = message.readUInt32BE(4);
    const sent = sentAt.get(seq);
    if (sent === undefined) return; // a straggler from an earlier round
    replies++;
    // Bytes 10.. are zeros as sent: a corrupted packet must be dropped by a checksum, never delivered.
    if (message.length !== PROBE_BYTES || message.subarray(10).some((b) => b !== 0)) corrupted++;
    const key = `${seq}:${message.readUInt16BE(8)}`;
    if (firstReply.has(key)) return;
    const now = performance.now();
    firstReply.set(key, now);
    if (message.readUInt16BE(8) !== 1) return;
    rtts.push(now - sent);
    if (seq < highest) inversions++;
    highest = Math.max(highest, seq);
  });
  const [before, engineBefore] = await Promise.all([probe.stats(), probe.engineStats?.()]);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const seq = seqBase + i;
    // A fresh buffer per probe: send() reads it only after its address lookup.
    const datagram = Buffer.alloc(PROBE_BYTES);
    datagram.write('NKCP');
    datagram.writeUInt32BE(seq, 4);
    sentAt.set(seq, performance.now());
    socket.send(datagram, probe.target.port, probe.target.host);
    // Paced, not bursted: a burst would measure queueing, and tbf would drop it.
    const wait = started + (i + 1) * PROBE_SPACING_MS - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const worstOneWayMs = (d: LinkDirection) => d.delayMs + 6 * d.jitterMs + (d.rateKbit ? (count * PROBE_BYTES * 8) / d.rateKbit : 0);
  // Replies get the worst round trip after the last probe and half a second more for
  // stragglers (a stalled host), unless every original is in sooner: then duplicates, which
  // leave with or just after their originals, get each way's jitter spread on top.
  const worstRoundTripMs = 2 * (worstOneWayMs(link.ingress) + worstOneWayMs(link.egress));
  const lastSent = performance.now();
  while (performance.now() < lastSent + worstRoundTripMs + 500 && rtts.length < count) await sleep(10);
  if (rtts.length >= count) await sleep(20 + 12 * Math.max(link.ingress.jitterMs, link.egress.jitterMs));
  await sleep(60); // the probe writes its counters every 20 ms
  const [after, engineAfter] = await Promise.all([probe.stats(), probe.engineStats?.()]);
  socket.close();
  return {
    rtts,
    lateMs: meanLatenessMs(engineBefore, engineAfter),
    inversions,
    corrupted,
    atProbe: { datagrams: after.datagrams - before.datagrams, distinct: after.distinct - before.distinct, replies: after.replies - before.replies },
    atHost: { replies, distinct: firstReply.size },
  };
}

/** Sends rate filler for RATE_PHASE_MS at twice the profile's rate; the probe measures what arrived. */
async function ingressRate(probe: Probe, kbit: number): Promise<number> {
  const socket = await openSocket();
  const phase = freshId();
  const filler = Buffer.alloc(RATE_DATAGRAM_BYTES, 0x5a);
  filler.write('NKRT');
  filler.writeUInt32BE(phase, 4);
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < RATE_PHASE_MS) {
    while ((sent * RATE_DATAGRAM_BYTES * 8) / (2 * kbit) < performance.now() - started) {
      socket.send(filler, probe.target.port, probe.target.host);
      sent++;
    }
    await sleep(2);
  }
  await sleep(1_000);
  const after = await probe.stats();
  socket.close();
  if (after.ratePhase !== phase) return 0;
  return (after.rateBytes * 8) / Math.max(1, after.rateLastMs - after.rateFirstMs);
}

/** Ids for rate phases and blast requests: the probe outlives a measurement and remembers ids. */
function freshId(): number {
  return 1 + Math.floor(Math.random() * (2 ** 32 - 2));
}

/** Asks the probe to send filler back at twice the rate; measures what arrives here, in kbit/s. */
async function egressRate(probe: Probe, kbit: number): Promise<number> {
  const id = freshId();
  const socket = await openSocket();
  let bytes = 0;
  let first = 0;
  let last = 0;
  socket.on('message', (message) => {
    if (message.toString('latin1', 0, 4) !== 'NKRT') return;
    const now = performance.now();
    if (bytes === 0) first = now;
    last = now;
    bytes += message.length;
  });
  const request = Buffer.alloc(16);
  request.write('NKRB');
  request.writeUInt32BE(id, 4);
  request.writeUInt32BE(2 * kbit, 8);
  request.writeUInt32BE(RATE_PHASE_MS, 12);
  // The request crosses the impaired ingress; three copies make its loss unlikely.
  for (let i = 0; i < 3; i++) socket.send(request, probe.target.port, probe.target.host);
  await sleep(RATE_PHASE_MS + 1_500);
  socket.close();
  return bytes === 0 ? 0 : (bytes * 8) / Math.max(1, last - first);
}

/** What the path itself adds to a round trip, measured just before a profile's round. */
export interface Baseline {
  /** The path's median round trip beyond its own delay (host, bridge, engine), in ms. */
  readonly rttMs: number;
  /** How late, on average, the engine's timers released each packet meanwhile, in ms. */
  readonly lateMs: number;
}

/** Each way's delay of the baseline link: enough for every packet to wait on the engine's timer. */
export const BASELINE_DELAY_MS = 1;

/**
 * The round trip of the path itself (host, bridge, the engine holding each packet on a timer,
 * as a profile's delay does), to be measured just before a profile: on a loaded machine it
 * grows, and the profile's delays come on top of it. `timed` is a link of BASELINE_DELAY_MS
 * each way and nothing else: a packet passed untouched never waits for the engine to wake on a
 * timer, which is what a loaded machine makes slow.
 */
export async function measureBaseline(probe: Probe, timed: LinkSpec): Promise<Baseline> {
  const echo = await echoRound(probe, timed, Math.floor(Math.random() * 2 ** 30), 100);
  const ownMs = expectedMedianRttMs(timed);
  return { rttMs: echo.rtts.length === 0 ? 0 : Math.max(0, median(echo.rtts) - ownMs), lateMs: echo.lateMs };
}

const NO_BASELINE: Baseline = { rttMs: 0, lateMs: 0 };

/** One measurement of the link against the profile. */
async function measure(
  probe: Probe,
  link: LinkSpec,
  backend: ImpairmentBackend,
  baseline: Baseline,
  count = PROBE_COUNT,
): Promise<Omit<Calibration, 'attempts' | 'durationMs'>> {
  // A fresh sequence range per round: the probe counts copies per sequence number for as long as it lives.
  const echo = await echoRound(probe, link, Math.floor(Math.random() * 2 ** 30), count);
  const checks: CalibrationCheck[] = [];
  const figures: Record<string, number> = {};
  const dropIn = dropProbability(link.ingress);
  const dropOut = dropProbability(link.egress);

  figures.probesSent = count;
  figures.probesArrived = echo.atProbe.distinct;
  figures.repliesSent = echo.atProbe.replies;
  figures.repliesArrived = echo.atHost.distinct;
  figures.medianRttMs = round(median(echo.rtts), 2);
  figures.p10RttMs = round(quantile(echo.rtts, 0.1), 2);
  figures.p90RttMs = round(quantile(echo.rtts, 0.9), 2);
  figures.reorderedReplies = echo.inversions;
  figures.corruptedReplies = echo.corrupted;
  checks.push({ name: 'corrupted datagrams delivered', measured: echo.corrupted, expected: 0, accepted: [0, 0], ok: echo.corrupted === 0, unit: 'datagrams' });

  checks.push(rateCheck('ingress loss', count - echo.atProbe.distinct, count, dropIn, link.ingress));
  if (echo.atProbe.distinct > 0) {
    checks.push(rateCheck('ingress duplication', echo.atProbe.datagrams - echo.atProbe.distinct, echo.atProbe.distinct, link.ingress.duplicatePercent / 100));
  }
  if (echo.atProbe.replies > 0) {
    // The probe's counters are up to 20 ms older than ours: a reply it sent after writing them
    // may be counted here already, which is not a negative loss.
    checks.push(rateCheck('egress loss', Math.max(0, echo.atProbe.replies - echo.atHost.distinct), echo.atProbe.replies, dropOut, link.egress));
  }
  if (echo.atHost.distinct > 0) {
    checks.push(rateCheck('egress duplication', echo.atHost.replies - echo.atHost.distinct, echo.atHost.distinct, link.egress.duplicatePercent / 100));
  }
  figures.baselineRttMs = round(baseline.rttMs, 2);
  figures.engineLatenessMs = round(echo.lateMs, 3);
  if (echo.rtts.length >= 20) {
    // The path adds between nothing and its baseline to the simulated delay: a baseline taken
    // during a stall of the host (a CI run measured 21 ms once) must not move the lower bound.
    // A held packet waits for the engine to wake on its timer (the baseline's link holds each
    // packet too, for that reason): if the engine's timers ran later during the round than
    // during the baseline, as the machine got busier, each delayed direction's extra lateness
    // is expected too, up to max(2 ms, 10 %) in all: a stall must not open the bound wide (the
    // engine clips each packet's lateness at 10 ms, so the mean is not a few outliers').
    const simulated = expectedMedianRttMs(link);
    const delayedDirections = [link.ingress, link.egress].filter((d) => d.delayMs > 0 || d.jitterMs > 0).length;
    const lateAllowanceMs = Math.min(Math.max(2, 0.1 * simulated), delayedDirections * Math.max(0, echo.lateMs - baseline.lateMs));
    figures.lateAllowanceMs = round(lateAllowanceMs, 3);
    const expected = simulated + baseline.rttMs + lateAllowanceMs;
    const low = Math.max(0, simulated - Math.max(2, 0.1 * simulated));
    const high = expected + Math.max(2, 0.1 * expected);
    const measured = figures.medianRttMs;
    checks.push({
      name: 'median RTT',
      measured,
      expected: round(expected, 2),
      accepted: [round(low, 2), round(high, 2)],
      ok: measured >= low && measured <= high,
      unit: 'ms',
    });
  }
  const reorders = link.ingress.reorderPercent + link.egress.reorderPercent > 0 || link.ingress.jitterMs + link.egress.jitterMs > 0;
  if (!reorders && echo.rtts.length > 0) {
    checks.push({ name: 'replies out of order', measured: echo.inversions, expected: 0, accepted: [0, 0], ok: echo.inversions === 0, unit: 'replies' });
  } else if (link.ingress.reorderPercent + link.egress.reorderPercent >= 1 && echo.rtts.length >= Math.min(100, 0.9 * count)) {
    // Reordered packets overtake the ones held back; with a few % of 400 the chance of none is
    // below 1e-4 (of 100, a re-verification's: 0.2 % for lossy, 1.8 % for chaos, which then
    // costs a full calibration, never the grade).
    checks.push({ name: 'replies out of order', measured: echo.inversions, expected: 1, accepted: [1, count], ok: echo.inversions >= 1, unit: 'replies' });
  }
  for (const name of ['ingress', 'egress'] as const satisfies readonly DirectionName[]) {
    const kbit = link[name].rateKbit;
    if (!kbit) continue;
    const measured = name === 'ingress' ? await ingressRate(probe, kbit) : await egressRate(probe, kbit);
    const expected = kbit * (1 - dropProbability(link[name]));
    // Filler is counted as UDP payload (1,200 of 1,242 bytes on the wire); tbf's burst lets a little extra through.
    checks.push({
      name: `${name} rate`,
      measured: Math.round(measured),
      expected: Math.round(expected),
      accepted: [Math.round(0.75 * expected), Math.round(1.1 * expected)],
      ok: measured >= 0.75 * expected && measured <= 1.1 * expected,
      unit: 'kbit/s',
    });
  }
  return { profile: link.name, backend, ok: checks.every((c) => c.ok), probes: count, figures, checks, method: count === PROBE_COUNT ? 'full' : 'reverified' };
}

/**
 * The seed of a calibration attempt: the run's own first, then others derived from it. The
 * engine replays the same decisions for the same packets from one seed, so a repeat with the
 * seed that failed would fail again.
 */
export function attemptSeed(seed: number, attempt: number): number {
  return (seed + (attempt - 1) * 104_729) % 2 ** 31;
}

/**
 * Measures a link against its profile: loss and duplication per direction within 99 %
 * binomial intervals, the median RTT within max(2 ms, 10 %) of the profile's on top of the
 * path's own baseline, order, rate. Each check by itself fails by chance at most 1 % of the
 * time, so a failing measurement is repeated once with fresh probes and a fresh seed
 * (`prepare(attempt)` sets the link up and returns the baseline), and only a second failure
 * counts: by chance at most 1e-4 per check.
 */
export async function calibrateLink(
  probe: Probe,
  link: LinkSpec,
  backend: ImpairmentBackend,
  prepare: (attempt: number) => Promise<Baseline> = async () => NO_BASELINE,
): Promise<Calibration> {
  const started = Date.now();
  log(`Calibrating ${link.name} on ${backend}...`);
  // The baseline is measured afresh for each attempt: a stall during one must not fail both.
  const result = await measureTwice(link.name, async (attempt) => measure(probe, link, backend, await prepare(attempt)));
  log(`Calibrated ${link.name}: ${result.ok ? 'ok' : 'FAILED'}`);
  return { ...result, durationMs: Date.now() - started };
}

/**
 * Checks a link this machine and engine calibrated in full before (`reference`): one round of
 * REVERIFY_PROBES probes against the same bounds, and the rate phases of a profile with a rate.
 * Coarser than a full calibration (at 100 probes a 2 % loss's interval is 0..6 %): it proves
 * that this run's link is the profile's within those bounds, while the statistics at the finer
 * bounds were proven by the full calibration of the same engine, images, sources and profile.
 * Not ok means: calibrate in full again, not that the run fails.
 */
export async function reverifyLink(
  probe: Probe,
  link: LinkSpec,
  backend: ImpairmentBackend,
  prepare: (attempt: number) => Promise<Baseline>,
  reference: NonNullable<Calibration['reference']>,
): Promise<Calibration> {
  const started = Date.now();
  log(`Re-verifying ${link.name} on ${backend} against its calibration of ${reference.calibratedAt}...`);
  const result = await measure(probe, link, backend, await prepare(1), REVERIFY_PROBES);
  log(`Re-verified ${link.name}: ${result.ok ? 'ok' : 'differs'}`);
  return { ...result, method: 'reverified', reference, attempts: 1, durationMs: Date.now() - started };
}

/**
 * Every backend's rule: a failed measurement is taken once more (attempt 2, from its own
 * seed: see attemptSeed) and only a second failure counts.
 */
export async function measureTwice<T extends { readonly ok: boolean; readonly checks: readonly CalibrationCheck[] }>(
  name: string,
  measureOnce: (attempt: number) => Promise<T>,
): Promise<T & { attempts: number }> {
  const first = await measureOnce(1);
  if (first.ok) return { ...first, attempts: 1 };
  log(
    `First calibration of ${name} failed (${first.checks
      .filter((c) => !c.ok)
      .map((c) => c.name)
      .join(', ')}); measuring again`,
  );
  return { ...(await measureOnce(2)), attempts: 2 };
}

/** One line per check, for error messages and the pretty report. */
export function describeCalibration(calibration: Calibration): string {
  return calibration.checks
    .map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.measured} ${c.unit} (expected ${c.expected}, accepted ${c.accepted[0]}..${c.accepted[1]})`)
    .join('\n');
}

// The event-loop protocol from the test side: lines, STATS, STREAM's byte pattern, timing.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { TcpConnection } from 'netkata/harness';

export const MAX_LINE_BYTES = 64 * 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
const PATTERN_PERIOD = 251;

/** STREAM's bytes [offset, offset + length): byte i is i % 251. */
export function pattern(offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (offset + i) % PATTERN_PERIOD;
  return out;
}

// Comparing against a slice of this is a memcmp, so checking a stream at full speed costs the
// test little CPU (the test's own loop must stay quick: it measures round trips meanwhile).
const REFERENCE_BYTES = 1024 * 1024;
const REFERENCE = pattern(0, PATTERN_PERIOD + REFERENCE_BYTES);

/** Where `chunk`, the stream's bytes from `offset` on, first differs from the pattern; -1 if nowhere. */
export function patternMismatch(chunk: Buffer, offset: number): number {
  for (let start = 0; start < chunk.length; start += REFERENCE_BYTES) {
    const piece = chunk.subarray(start, start + REFERENCE_BYTES);
    const phase = (offset + start) % PATTERN_PERIOD;
    if (piece.equals(REFERENCE.subarray(phase, phase + piece.length))) continue;
    for (let i = 0; i < piece.length; i++) if (piece[i] !== REFERENCE[phase + i]) return start + i;
  }
  return -1;
}

/** Reads exactly `n` STREAM bytes and checks each one. */
export async function expectStream(client: TcpConnection, n: number, what: string, timeoutMs = 5_000): Promise<void> {
  // The first few bytes on their own, so a server that sends something else fails now, not at the timeout.
  const head = await client.read(Math.min(n, 16), timeoutMs);
  failOnMismatch(head, what);
  if (n > head.length) failOnMismatch(Buffer.concat([head, await client.read(n - head.length, timeoutMs)]), what);
}

function failOnMismatch(bytes: Buffer, what: string): void {
  const at = patternMismatch(bytes, 0);
  if (at < 0) return;
  expect.fail(
    `${what}: byte ${at} of the stream is ${bytes[at]}, expected ${at % PATTERN_PERIOD} (byte i is i % 251); from there: ${JSON.stringify(bytes.subarray(at, at + 24).toString('latin1'))}`,
  );
}

export async function expectLine(client: TcpConnection, expected: string, what: string, timeoutMs?: number): Promise<void> {
  expect(await client.readLine(timeoutMs), what).toBe(expected);
}

/** Exactly these bytes next (for what readLine would hide: a \r, an empty line). */
export async function expectBytes(client: TcpConnection, expected: string, what: string, timeoutMs?: number): Promise<void> {
  const got = await client.read(Buffer.byteLength(expected, 'latin1'), timeoutMs);
  expect(JSON.stringify(got.toString('latin1')), what).toBe(JSON.stringify(expected));
}

export interface Stats {
  readonly conns: number;
  readonly total: number;
}

export async function askStats(client: TcpConnection): Promise<Stats> {
  await client.write('STATS\n');
  const line = await client.readLine();
  const match = /^conns=(\d+) total=(\d+)$/.exec(line);
  if (!match) expect.fail(`STATS: expected "conns=<open> total=<accepted>", got ${JSON.stringify(line)}`);
  return { conns: Number(match[1]), total: Number(match[2]) };
}

/** One ECHO round trip first, so a server that answers nothing fails in seconds, not at a long test's timeout. */
export async function expectAlive(client: TcpConnection, timeoutMs = 5_000): Promise<void> {
  await client.write('ECHO alive?\n');
  await expectLine(client, 'alive?', 'answer to a first ECHO', timeoutMs);
}

/** Milliseconds from writing `ECHO <text>` to reading its answer. */
export async function roundTripMs(client: TcpConnection, text: string, timeoutMs?: number): Promise<number> {
  const started = performance.now();
  await client.write(`ECHO ${text}\n`);
  await expectLine(client, text, `answer to ECHO ${text}`, timeoutMs);
  return performance.now() - started;
}

/** The value at or below which `p` percent of `values` lie (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const round = (ms: number) => Math.round(ms * 10) / 10;

/** Polls `check` until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

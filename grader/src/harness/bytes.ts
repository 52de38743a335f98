import { ExpectationError } from './tcp.ts';

/** Bytes per row of the hex view. */
const ROW_BYTES = 16;

function hexRow(bytes: Uint8Array, from: number): string {
  const row = [...bytes.subarray(from, from + ROW_BYTES)];
  const hex = row
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(' ')
    .padEnd(ROW_BYTES * 3 - 1);
  const text = row.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `${from.toString(16).padStart(8, '0')}  ${hex}  ${text}`;
}

/**
 * The first offset where two byte strings differ (the shorter one's length if one is a prefix
 * of the other), or -1 when they are equal.
 */
export function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  const common = Math.min(actual.length, expected.length);
  for (let i = 0; i < common; i++) if (actual[i] !== expected[i]) return i;
  return actual.length === expected.length ? -1 : common;
}

/**
 * A hex view of where `actual` leaves `expected`: the row of the first differing byte from each
 * side, and a caret under that byte. For binary protocols, where a text diff shows nothing.
 */
export function describeDifference(actual: Uint8Array, expected: Uint8Array): string {
  const at = firstDifference(actual, expected);
  if (at < 0) return 'the bytes are equal';
  const from = at - (at % ROW_BYTES);
  const caret = ' '.repeat(10 + (at - from) * 3);
  const side = (bytes: Uint8Array) => (from < bytes.length ? hexRow(bytes, from) : `${from.toString(16).padStart(8, '0')}  (ends at ${bytes.length} bytes)`);
  return [
    `the bytes differ at offset ${at} (0x${at.toString(16)}): expected ${expected.length} bytes, got ${actual.length}`,
    `  expected  ${side(expected)}`,
    `  got       ${side(actual)}`,
    `            ${caret}^^`,
  ].join('\n');
}

/** Fails the test with a hex view of the first differing byte unless `actual` equals `expected`. */
export function expectBytes(actual: Uint8Array, expected: Uint8Array, what = 'the bytes received'): void {
  if (firstDifference(actual, expected) < 0) return;
  throw new ExpectationError(`${what}: ${describeDifference(actual, expected)}`);
}

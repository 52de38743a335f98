// The hex view binary protocols fail with: the first differing byte, marked.
import { expect, test } from 'vitest';
import { describeDifference, expectBytes, firstDifference } from '../src/harness/bytes.ts';

test('the first differing byte is found, including where one side is a prefix of the other', () => {
  expect(firstDifference(Buffer.from('abc'), Buffer.from('abc'))).toBe(-1);
  expect(firstDifference(Buffer.from('abd'), Buffer.from('abc'))).toBe(2);
  expect(firstDifference(Buffer.from('ab'), Buffer.from('abc'))).toBe(2);
  expect(firstDifference(Buffer.alloc(0), Buffer.from('a'))).toBe(0);
});

test('the hex view shows the row of the difference from both sides, a caret under the byte', () => {
  const expected = Buffer.concat([Buffer.alloc(18, 0x41), Buffer.from([0xff, 0x00])]);
  const actual = Buffer.concat([Buffer.alloc(18, 0x41), Buffer.from([0x41, 0x00])]);
  const lines = describeDifference(actual, expected).split('\n');
  expect(lines[0]).toBe('the bytes differ at offset 18 (0x12): expected 20 bytes, got 20');
  expect(lines[1]).toMatch(/^ {2}expected {2}00000010 {2}41 41 ff 00 +AA\.\.$/);
  expect(lines[2]).toMatch(/^ {2}got {7}00000010 {2}41 41 41 00 +AAA\.$/);
  // The caret sits under the third byte of the row, on both lines.
  expect(lines[3]!.indexOf('^^')).toBe(lines[1]!.indexOf('ff'));
  expect(lines[3]!.indexOf('^^')).toBe(lines[2]!.indexOf('41 00'));
});

test('expectBytes passes equal bytes and fails with the view and what was compared', () => {
  expect(() => expectBytes(Buffer.from('same'), Buffer.from('same'))).not.toThrow();
  expect(() => expectBytes(Buffer.from('hello'), Buffer.from('hello, frames'), 'the echo')).toThrow(
    /^the echo: the bytes differ at offset 5 \(0x5\): expected 13 bytes, got 5\n {2}expected {2}00000000 {2}68 65 6c 6c 6f 2c[^\n]*\n {2}got {7}00000000 {2}68 65 6c 6c 6f {2}/,
  );
  expect(() => expectBytes(Buffer.alloc(16), Buffer.alloc(17))).toThrow(/got {7}00000010 {2}\(ends at 16 bytes\)/);
});

// The live progress line: which test runs and for how long, on stderr, without breaking stdout.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { LiveProgress } from '../src/runner/live-progress.ts';

const fakeStream = (isTTY: boolean) => {
  const writes: string[] = [];
  return { stream: { isTTY, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream, writes };
};

let ci: string | undefined;
beforeEach(() => {
  ci = process.env.CI;
  delete process.env.CI;
});
afterEach(() => {
  if (ci !== undefined) process.env.CI = ci;
});

test('on a terminal: nothing for a quick test; a spinner with the name and seconds after 1 s, cleared at the end', async () => {
  const { stream, writes } = fakeStream(true);
  const live = new LiveProgress(stream);
  live.start('stage 1 quick');
  await sleep(300);
  live.end('  ✓ stage 1 quick (300 ms)');
  expect(writes).toEqual(['  ✓ stage 1 quick (300 ms)\n']);
  writes.length = 0;
  live.start('stage 2 slow \x1b[2J');
  await sleep(1_400);
  live.end('  ✗ stage 2 slow');
  const drawn = writes.filter((w) => w.startsWith('\r\x1b[2K  '));
  expect(drawn.length).toBeGreaterThan(0);
  expect(drawn.at(-1)).toMatch(/^\r\x1b\[2K {2}. stage 2 slow \\x1b\[2J \(1\.\d s\)$/);
  // Cleared before the result line, which stands alone.
  expect(writes.slice(-2)).toEqual(['\r\x1b[2K', '  ✗ stage 2 slow\n']);
});

test('without a terminal (CI logs): no redraws, a plain line only for a test that runs long', async () => {
  const { stream, writes } = fakeStream(false);
  const live = new LiveProgress(stream);
  live.start('stage 1 quick');
  await sleep(1_200);
  live.end('  ✓ stage 1 quick');
  expect(writes).toEqual(['  ✓ stage 1 quick\n']);
  expect(writes.join('')).not.toContain('\r');
});

import { expect, test } from 'vitest';
import { randomBytes, stage, useSubmission } from 'netkata/harness';
import { fetchFile } from './client.ts';

const files = {
  'one.bin': randomBytes(360_000, 701),
  'two.bin': randomBytes(240_000, 702),
  'three.bin': randomBytes(240_000, 703),
};
const server = useSubmission({ files });

test('a 360 KB file arrives intact', stage(7, 8), async ({ task }) => {
  await using client = await server.udp();
  const result = await fetchFile(client, 'one.bin', { deadlineMs: 30_000, lingerMs: 1_000 });
  task.meta.measurements = { elapsedMs: Math.round(result.elapsedMs), dataDatagrams: result.dataDatagrams, segments: result.total };
  expect(result.data.equals(files['one.bin']), 'the bytes received are the file').toBe(true);
});

test('two clients at once each get their file intact', stage(7, 7), async () => {
  await using first = await server.udp({ label: 'first' });
  await using second = await server.udp({ label: 'second' });
  const [a, b] = await Promise.all([
    fetchFile(first, 'two.bin', { id: 1, deadlineMs: 30_000, lingerMs: 1_000 }),
    fetchFile(second, 'three.bin', { id: 2, deadlineMs: 30_000, lingerMs: 1_000 }),
  ]);
  expect(a.data.equals(files['two.bin'])).toBe(true);
  expect(b.data.equals(files['three.bin'])).toBe(true);
});

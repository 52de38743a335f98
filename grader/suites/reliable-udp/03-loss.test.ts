import { expect, test } from 'vitest';
import { randomBytes, stage, useSubmission } from 'netkata/harness';
import { fetchFile, sha256 } from './client.ts';

const files = {
  'loss.bin': randomBytes(240_000, 301),
  'fin.bin': randomBytes(12_000, 302),
};
const server = useSubmission({ files });

test('10 % loss each way: a 240 KB file arrives intact', stage(3, 12), async ({ task }) => {
  await server.link.set({ lossPercent: 10 });
  await using client = await server.udp();
  const result = await fetchFile(client, 'loss.bin', { deadlineMs: 20_000, lingerMs: 1_000 });
  task.meta.measurements = { elapsedMs: Math.round(result.elapsedMs), dataDatagrams: result.dataDatagrams, segments: result.total };
  expect(result.data.equals(files['loss.bin']), 'the bytes received are the file').toBe(true);
  expect(result.digest.equals(sha256(files['loss.bin']))).toBe(true);
});

test('a lost FIN is sent again until the client acknowledges it', stage(3, 8), async () => {
  await using client = await server.udp();
  // The client throws away the first two FINs, as a lossy link would.
  const result = await fetchFile(client, 'fin.bin', { deadlineMs: 10_000, dropFins: 2 });
  expect(result.fins, 'FINs that arrived').toBeGreaterThanOrEqual(3);
  expect(result.data.equals(files['fin.bin'])).toBe(true);
});

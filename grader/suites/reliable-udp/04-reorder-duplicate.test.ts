import { expect, test } from 'vitest';
import { randomBytes, stage, useSubmission } from 'netkata/harness';
import { fetchFile, get } from './client.ts';

const files = {
  'shuffled.bin': randomBytes(240_000, 401),
  'once.bin': randomBytes(24_000, 402),
};
const server = useSubmission({ files });

test('reordering, duplication and corruption: a 240 KB file arrives intact', stage(4, 6), async ({ task }) => {
  await server.link.set({ delayMs: 10, jitterMs: 5, reorderPercent: 10, duplicatePercent: 10, corruptPercent: 5 });
  await using client = await server.udp();
  const result = await fetchFile(client, 'shuffled.bin', { deadlineMs: 20_000, lingerMs: 1_000 });
  task.meta.measurements = { elapsedMs: Math.round(result.elapsedMs), duplicateData: result.duplicateData };
  expect(result.data.equals(files['shuffled.bin']), 'the bytes received are the file').toBe(true);
});

test('a GET that arrives three times starts one transfer, not three', stage(4, 4), async () => {
  await using client = await server.udp();
  await client.send(get(5, 'once.bin'));
  await client.send(get(5, 'once.bin'));
  // fetchFile sends the third.
  const result = await fetchFile(client, 'once.bin', { id: 5, deadlineMs: 5_000 });
  expect(result.data.equals(files['once.bin'])).toBe(true);
  expect(result.duplicateData, 'segments that arrived more than once on a clean link').toBe(0);
});

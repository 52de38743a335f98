import { expect, test } from 'vitest';
import { randomBytes, stage, useSubmission } from 'netkata/harness';
import { fetchFile } from './client.ts';

const files = {
  'big.bin': randomBytes(2_400_000, 501),
  'sack.bin': randomBytes(600_000, 502),
};
const server = useSubmission({ files });

const LINK_KBIT = 10_000;

test('goodput on a 10 Mbit/s link with 50 ms each way is at least half the link rate', stage(5, 10), async ({ task }) => {
  await server.link.set({ delayMs: 50, rateKbit: LINK_KBIT });
  await using client = await server.udp();
  const size = files['big.bin'].length;
  // Half the rate leaves room for headers, the GET's round trip and the start of the window.
  const allowedMs = (size * 8) / (LINK_KBIT / 2);
  const result = await fetchFile(client, 'big.bin', { deadlineMs: 2 * allowedMs + 2_000 });
  const goodputKbit = (size * 8) / result.elapsedMs;
  task.meta.measurements = { goodputKbit: Math.round(goodputKbit), elapsedMs: Math.round(result.elapsedMs), dataDatagrams: result.dataDatagrams };
  expect(result.data.equals(files['big.bin'])).toBe(true);
  expect(Math.round(goodputKbit), `goodput in kbit/s (${size} bytes in ${Math.round(result.elapsedMs)} ms; a window of at least one bandwidth-delay product, 125 KB, keeps the link full)`).toBeGreaterThanOrEqual(LINK_KBIT / 2);
});

test('with 10 % of segments lost, the server resends at most twice what was lost', stage(5, 10), async ({ task }) => {
  await using client = await server.udp();
  // Losses happen in the client, counted exactly; the link itself is clean, so every DATA the
  // server sent arrives and the count of retransmissions is exact too.
  const result = await fetchFile(client, 'sack.bin', { deadlineMs: 20_000, dropPercent: 10, seed: 7 });
  const retransmissions = result.dataDatagrams - result.total;
  task.meta.measurements = { segments: result.total, lost: result.droppedData, retransmissions, elapsedMs: Math.round(result.elapsedMs) };
  expect(result.data.equals(files['sack.bin'])).toBe(true);
  // Each lost segment needs one more transmission; allow twice that, plus 4 for a timer that fires
  // early at the tail. A server without SACK resends whole windows and ends far above.
  expect(retransmissions, `segments sent more than once (${result.droppedData} of ${result.dataDatagrams} DATA datagrams were lost)`).toBeLessThanOrEqual(2 * result.droppedData + 4);
});

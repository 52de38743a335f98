import { expect, test } from 'vitest';
import { randomBytes, stage, useSubmission } from 'netkata/harness';
import { fetchFile } from './client.ts';

const files = {
  'first.bin': randomBytes(500_000, 601),
  'second.bin': randomBytes(500_000, 602),
  'long.bin': randomBytes(1_200_000, 603),
};
const server = useSubmission({ files });

test('two clients at once, both with transfer id 1, each get their own file', stage(6, 4), async () => {
  await using first = await server.udp({ label: 'first' });
  await using second = await server.udp({ label: 'second' });
  const [a, b] = await Promise.all([
    fetchFile(first, 'first.bin', { id: 1, deadlineMs: 15_000 }),
    fetchFile(second, 'second.bin', { id: 1, deadlineMs: 15_000 }),
  ]);
  expect(a.data.equals(files['first.bin']), 'the first client got first.bin').toBe(true);
  expect(b.data.equals(files['second.bin']), 'the second client got second.bin').toBe(true);
});

/** Giving up is due 10 s after the last ACK; a second for timers and the link. */
const GIVE_UP_MS = 10_000;
const TOLERANCE_MS = 1_000;

test('a client that goes silent: the server keeps trying for a while, then stops within 10 s', stage(6, 6), async ({ task }) => {
  await using client = await server.udp();
  // 20 ACKs, then silence; watch for 16 s, long enough to see a retransmission timer that
  // backed off to 4 s still firing after the 10 s are up.
  const result = await fetchFile(client, 'long.bin', { deadlineMs: 16_000, ackLimit: 20 });
  const silentForMs = result.lastDatagramAtMs - result.lastAckAtMs;
  task.meta.measurements = { lastDatagramAfterLastAckMs: Math.round(silentForMs), dataDatagrams: result.dataDatagrams };
  expect(result.complete, 'the transfer cannot complete without ACKs').toBe(false);
  expect(result.dataDatagrams, 'DATA datagrams: the window, then retransmissions during the silence').toBeGreaterThan(result.acksSent);
  expect(Math.round(silentForMs), 'ms from our last ACK to the last datagram the server sent').toBeLessThanOrEqual(GIVE_UP_MS + TOLERANCE_MS);
});

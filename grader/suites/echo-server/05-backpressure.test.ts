import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { figure, randomBytes, stage, useSubmission } from 'netkata/harness';

const server = useSubmission();

const MiB = 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
/** What the client tries to push into a server it never reads from. */
const ATTEMPT_BYTES = 256 * MiB;
/**
 * How far a client may get before its writes stall. Kernel buffers on both sides of both
 * directions account for tens of MiB (tcp_rmem max is 32 MiB on the host, 6 MiB in a fresh
 * network namespace); measured for the reference solution: see grader/test/echo-server.test.ts
 * notes. Anything past 96 MiB means the server itself is holding the bytes.
 */
const STALL_BOUND_BYTES = 96 * MiB;
/** Writes that make no progress for this long count as held back. */
const STALL_MS = 2_000;

test('a client that stops reading is held back by TCP flow control', stage(5, 15, { timeout: 90_000 }), async ({ task }) => {
  const chunk = randomBytes(CHUNK_BYTES, 5);
  await using client = await server.connect();
  client.pause();
  let written = 0;
  try {
    while (written < ATTEMPT_BYTES) {
      const progressed = await Promise.race([client.write(chunk).then(() => true), sleep(STALL_MS).then(() => false)]);
      if (!progressed) break;
      written += chunk.length;
    }
  } catch (error) {
    await server.assertRunning();
    task.meta.measurements = { writtenBeforeFailureBytes: written };
    throw new Error(`the connection failed after the client wrote ${(written / MiB).toFixed(1)} MiB without reading: ${(error as Error).message}`, {
      cause: error,
    });
  }
  figure(task, 'writtenBeforeStallBytes', written, { max: STALL_BOUND_BYTES });
  await server.assertRunning();
  expect(
    written,
    `the client wrote ${(written / MiB).toFixed(1)} MiB into a server it never read from; a server that respects backpressure stops it below ${STALL_BOUND_BYTES / MiB} MiB`,
  ).toBeLessThan(STALL_BOUND_BYTES);
});

test('a large round trip completes within the memory limit', stage(5, 15, { timeout: 90_000 }), async () => {
  // 64 MiB is half the memory limit; over a lossy link TCP moves a few hundred KiB/s, so 4 MiB.
  const totalBytes = server.link.impaired ? 4 * MiB : 64 * MiB;
  const chunk = randomBytes(CHUNK_BYTES, 55);
  const sent = createHash('sha256');
  const received = createHash('sha256');
  await using client = await server.connect();
  const reading = client.consume(totalBytes, (piece) => received.update(piece), 10_000);
  reading.catch(() => {}); // awaited below; a failure must not surface as an unhandled rejection first
  // If the echo stalls, our writes stall too (flow control): stop writing when reading fails.
  const readingFailed = reading.then(() => new Promise<never>(() => {}));
  for (let i = 0; i < totalBytes / CHUNK_BYTES; i++) {
    chunk.writeUInt32BE(i, 0);
    sent.update(chunk);
    await Promise.race([client.write(chunk), readingFailed]);
  }
  await reading;
  await server.assertRunning();
  expect(received.digest('hex'), 'SHA-256 of the echoed 64 MiB').toBe(sent.digest('hex'));
});

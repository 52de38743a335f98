import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { figure, stage, useSubmission } from 'netkata/harness';
import { expectAlive, GiB, MiB, patternMismatch } from './lines.ts';

const server = useSubmission();

/**
 * How much more memory the server may use while a client does not read its STREAM. Kernel
 * socket buffers hold the bytes in flight (they are not the server's resident memory); a
 * server that waits for the socket to drain holds a chunk or two.
 */
const GROWTH_BOUND_BYTES = 32 * MiB;
/** Writes that make no progress for this long count as held back. */
const STALL_MS = 2_000;

test(
  'STREAM of 1 GiB to a client that does not read: production stops, memory stays flat, and resumes when it reads',
  stage(4, 10, { timeout: 60_000 }),
  async ({ task }) => {
    await using other = await server.connect({ label: 'other' });
    await expectAlive(other);
    const before = await server.processStats();
    await using reader = await server.connect({ label: 'stream' });
    reader.pause();
    await reader.write(`STREAM ${GiB}\n`);
    // Long enough for a server that ignores backpressure to buffer hundreds of MiB.
    await sleep(3_000);
    const paused = await server.processStats();
    const measurements = { memoryBeforeBytes: before.memoryBytes, memoryPausedBytes: paused.memoryBytes, limitBytes: server.context.limits.memoryMb * MiB };
    task.meta.measurements = measurements;
    figure(task, 'memoryGrowthPausedBytes', paused.memoryBytes - before.memoryBytes, { max: GROWTH_BOUND_BYTES });
    expect(
      paused.memoryBytes - before.memoryBytes,
      `memory grew from ${(before.memoryBytes / MiB).toFixed(1)} to ${(paused.memoryBytes / MiB).toFixed(1)} MiB while the client did not read a 1 GiB STREAM; a server that waits for the socket to drain grows by a chunk or two`,
    ).toBeLessThan(GROWTH_BOUND_BYTES);
    await expectAlive(other);

    // The client reads again: the stream goes on from where it stopped, every byte in place.
    reader.resume();
    const resumeBytes = 64 * MiB;
    let offset = 0;
    let mismatch: string | undefined;
    await reader.consume(
      resumeBytes,
      (chunk) => {
        const at = mismatch ? -1 : patternMismatch(chunk, offset);
        if (at >= 0) mismatch = `byte ${offset + at} of the stream is ${chunk[at]}, expected ${(offset + at) % 251}`;
        offset += chunk.length;
      },
      10_000,
    );
    expect(mismatch, 'the first 64 MiB of the stream, read after the pause').toBeUndefined();
    const after = await server.processStats();
    task.meta.measurements = { ...task.meta.measurements, memoryAfterResumeBytes: after.memoryBytes };
    // Hanging up in the middle of a stream is this client's business only.
    await reader.close();
    await expectAlive(other);
  },
);

test('a client that pipelines ECHOs without reading the answers is held back', stage(4, 5, { timeout: 60_000 }), async ({ task }) => {
  const line = `ECHO ${'x'.repeat(1_018)}\n`; // 1 KiB in, 1 KiB out
  const chunk = Buffer.from(line.repeat(64));
  const attemptBytes = 256 * MiB;
  const stallBound = 96 * MiB;
  await using client = await server.connect();
  await expectAlive(client);
  const before = await server.processStats();
  client.pause();
  let written = 0;
  let pending: Promise<void> | undefined;
  while (written < attemptBytes) {
    pending = client.write(chunk);
    const progressed = await Promise.race([pending.then(() => true), sleep(STALL_MS).then(() => false)]);
    if (!progressed) break;
    written += chunk.length;
    pending = undefined;
  }
  const held = await server.processStats();
  task.meta.measurements = { memoryBeforeBytes: before.memoryBytes, memoryHeldBytes: held.memoryBytes };
  figure(task, 'writtenBeforeStallBytes', written, { max: stallBound });
  figure(task, 'memoryGrowthHeldBytes', held.memoryBytes - before.memoryBytes, { max: GROWTH_BOUND_BYTES });
  expect(
    written,
    `the client wrote ${(written / MiB).toFixed(1)} MiB of ECHOs without reading an answer; a server that stops reading when it cannot write holds it back below ${stallBound / MiB} MiB`,
  ).toBeLessThan(stallBound);
  expect(held.memoryBytes - before.memoryBytes, 'memory growth while the client was held back').toBeLessThan(GROWTH_BOUND_BYTES);

  // Reading again, the client gets every answer (the stalled write's too), in order.
  const lines = (written + (pending ? chunk.length : 0)) / line.length;
  client.resume();
  const answer = Buffer.from(line.slice('ECHO '.length));
  let received = 0;
  let mismatch: string | undefined;
  await client.consume(
    lines * answer.length,
    (piece) => {
      for (let i = 0; i < piece.length && !mismatch; i++) {
        if (piece[i] !== answer[(received + i) % answer.length])
          mismatch = `byte ${received + i} of the answers is ${piece[i]}, expected ${answer[(received + i) % answer.length]}`;
      }
      received += piece.length;
    },
    10_000,
  );
  expect(mismatch, `the ${lines} answers`).toBeUndefined();
});

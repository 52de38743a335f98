import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { figure, stage, useSubmission } from 'netkata/harness';
import { exchange, expectFile, get, header, HELLO, PATTERN, PUBLIC, readResponse, servedTree } from './http.ts';

// Stage 3: a 1 GiB file, sent to a client that stops reading for 4 s and then reads as fast as
// it can, in a server held to 128 MiB. Streamed with backpressure it costs a few chunks; read
// whole, or written without waiting for the socket to drain, it cannot fit.
const HUGE_BYTES = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
/** What the server's memory may grow by while it sends the file (the README's bound). */
const GROWTH_LIMIT_MIB = 48;
const STALL_MS = 4_000;

const server = useSubmission({ files: servedTree({ 'huge.bin': { sizeBytes: HUGE_BYTES, pattern: PATTERN } }), filesRoot: PUBLIC });

/** Checks each chunk against the pattern at its offset, keeping nothing. */
function patternChecker() {
  const doubled = Buffer.concat([PATTERN, PATTERN]);
  let offset = 0;
  let firstBad: number | undefined;
  return {
    feed(chunk: Buffer) {
      for (let i = 0; i < chunk.length && firstBad === undefined;) {
        const at = (offset + i) % PATTERN.length;
        const n = Math.min(chunk.length - i, PATTERN.length);
        if (!chunk.subarray(i, i + n).equals(doubled.subarray(at, at + n))) {
          for (let k = 0; k < n; k++) if (chunk[i + k] !== doubled[at + k]) firstBad ??= offset + i + k;
        }
        i += n;
      }
      offset += chunk.length;
    },
    get received() {
      return offset;
    },
    get firstBad() {
      return firstBad;
    },
  };
}

test(
  'a 1 GiB file to a client that stalls, then reads fast: whole, in flat memory, nobody else held up',
  stage(3, 6, { timeout: 120_000 }),
  async ({ task }) => {
    const before = (await server.processStats()).memoryBytes;
    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const stats = await server.processStats().catch(() => undefined);
        if (!stats) return;
        peak = Math.max(peak, stats.memoryBytes);
        await sleep(200);
      }
    })();
    try {
      await using conn = await server.connect({ label: 'slow' });
      await conn.write(get('/huge.bin'));
      // The head, then the stall: the test stops reading and TCP's windows fill up.
      await sleep(300);
      conn.pause();
      await using other = await server.connect({ label: 'other' });
      const stallEnds = performance.now() + STALL_MS;
      let slowest = 0;
      while (performance.now() < stallEnds) {
        const started = performance.now();
        expectFile(await exchange(other, get('/hello.txt'), { timeoutMs: 2_000 }), HELLO);
        slowest = Math.max(slowest, performance.now() - started);
        await sleep(400);
      }
      figure(task, 'otherClientMs', Math.round(slowest), { max: 1_000 });
      expect(slowest, 'the slowest answer to another client while the download stalled (ms)').toBeLessThanOrEqual(1_000);
      conn.resume();
      const check = patternChecker();
      const response = await readResponse(conn, { what: 'GET /huge.bin', timeoutMs: 15_000, onBody: (chunk) => check.feed(chunk) });
      expect(response.status, `GET /huge.bin:\n${response.head}`).toBe(200);
      expect(header(response, 'content-length'), 'Content-Length of a 1 GiB file').toBe(String(HUGE_BYTES));
      expect(check.firstBad, 'the first byte of the body that differs from the file').toBeUndefined();
      expect(check.received).toBe(HUGE_BYTES);
    } finally {
      sampling = false;
      await sampler;
    }
    await server.assertRunning();
    const growthMiB = Math.round((peak - before) / MiB);
    figure(task, 'memoryBeforeMiB', Math.round(before / MiB));
    figure(task, 'memoryGrowthMiB', growthMiB, { max: GROWTH_LIMIT_MIB });
    expect(
      growthMiB,
      `the server's memory grew by ${growthMiB} MiB while sending the file (at most ${GROWTH_LIMIT_MIB}: stream it, and wait for 'drain')`,
    ).toBeLessThanOrEqual(GROWTH_LIMIT_MIB);
  },
);

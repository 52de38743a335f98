import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { figure, stage, useSubmission, type TcpConnection } from 'netkata/harness';
import { exchange, expectFile, get, HELLO, PUBLIC, readResponse, servedTree } from './http.ts';

// Stage 4: slowloris (a client that sends its head a byte at a time, forever) holds up nobody
// and gets 408 once HEADER_TIMEOUT_MS has passed since its first byte; a connection with no
// byte of a next request is idle, closed silently after IDLE_TIMEOUT_MS, and the header clock
// does not run while it is idle. Short timeouts here, so the stage takes seconds.
const HEADER_TIMEOUT_MS = 2_000;
const IDLE_TIMEOUT_MS = 6_000;
/** The 408 comes no sooner than this after the first byte (timers fire late, never early; 10 % for the engine's clock)... */
const EARLIEST_MS = 1_800;
/** ...and no later than this (the timeout, plus slack for a busy machine). */
const LATEST_MS = 3_500;
const SLOW_CLIENTS = 20;

const server = useSubmission({
  files: servedTree(),
  filesRoot: PUBLIC,
  env: { HEADER_TIMEOUT_MS: String(HEADER_TIMEOUT_MS), IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) },
});

/** Sends `data` a byte a second until the server answers or closes; when that came, after the first byte. */
async function dripUntilAnswered(conn: TcpConnection, data: Buffer): Promise<{ afterMs: number; status: number | undefined; closed: boolean }> {
  const start = performance.now();
  let stop = false;
  const dripping = (async () => {
    for (let i = 0; i < data.length && !stop; i++) {
      await conn.write(data.subarray(i, i + 1)).catch(() => (stop = true));
      await sleep(1_000);
    }
  })();
  try {
    const response = await readResponse(conn, { timeoutMs: LATEST_MS + 2_000, what: 'a request sent a byte a second' });
    const afterMs = performance.now() - start;
    const closed = await conn.expectClosed(2_000).then(
      () => true,
      () => false,
    );
    return { afterMs, status: response.status, closed };
  } finally {
    stop = true;
    await dripping;
  }
}

test(
  `${SLOW_CLIENTS} slowloris clients get 408 after HEADER_TIMEOUT_MS (2 s) while another client is answered within 1 s`,
  stage(4, 4, { timeout: 60_000 }),
  async ({ task }) => {
    const slow = await Promise.all(Array.from({ length: SLOW_CLIENTS }, (_, i) => server.connect({ label: `slow${i + 1}` })));
    const data = get('/hello.txt', { 'User-Agent': 'slowloris', 'X-Padding': 'x'.repeat(40) });
    const results = Promise.all(slow.map((conn) => dripUntilAnswered(conn, data)));
    // Meanwhile a client that sends whole requests is answered at once.
    await using other = await server.connect({ label: 'other' });
    let slowest = 0;
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      expectFile(await exchange(other, get('/hello.txt'), { timeoutMs: 3_000 }), HELLO);
      slowest = Math.max(slowest, performance.now() - t0);
      await sleep(200);
    }
    figure(task, 'otherClientSlowestMs', Math.round(slowest), { max: 1_000 });
    expect(slowest, 'the slowest answer to another client while the slow ones dripped (ms)').toBeLessThanOrEqual(1_000);
    const answered = await results;
    for (const conn of slow) await conn.close();
    const times = answered.map((r) => r.afterMs);
    figure(task, 'first408Ms', Math.round(Math.min(...times)), { min: EARLIEST_MS });
    figure(task, 'last408Ms', Math.round(Math.max(...times)), { max: LATEST_MS });
    for (const [i, r] of answered.entries()) {
      expect(r.status, `slow client ${i + 1}: the answer to a head that never ends`).toBe(408);
      expect(r.afterMs, `slow client ${i + 1}: ms from its first byte to the 408 (HEADER_TIMEOUT_MS is ${HEADER_TIMEOUT_MS})`).toBeGreaterThanOrEqual(
        EARLIEST_MS,
      );
      expect(r.afterMs, `slow client ${i + 1}: ms from its first byte to the 408`).toBeLessThanOrEqual(LATEST_MS);
      expect(r.closed, `slow client ${i + 1}: the server closes after its 408`).toBe(true);
    }
  },
);

test(
  'idle is not slow: a kept-alive connection waits 3 s between requests, then is closed silently after IDLE_TIMEOUT_MS (6 s)',
  stage(4, 2, { timeout: 60_000 }),
  async ({ task }) => {
    await using conn = await server.connect();
    expectFile(await exchange(conn, get('/hello.txt')), HELLO);
    // Longer than the header timeout, shorter than the idle one: the connection is idle, not slow.
    await sleep(3_000);
    expectFile(await exchange(conn, get('/hello.txt'), { what: 'GET /hello.txt after 3 s of idle (HEADER_TIMEOUT_MS is 2 s, IDLE_TIMEOUT_MS 6 s)' }), HELLO);
    const idleFrom = performance.now();
    await conn.expectClosed(IDLE_TIMEOUT_MS + 3_000).catch((error: Error) => {
      throw new Error(
        `after its last answer the connection was idle and still open after ${IDLE_TIMEOUT_MS + 3_000} ms (IDLE_TIMEOUT_MS is ${IDLE_TIMEOUT_MS}): ${error.message}`,
        { cause: error },
      );
    });
    const closedAfterMs = figure(task, 'idleClosedAfterMs', Math.round(performance.now() - idleFrom), {
      min: IDLE_TIMEOUT_MS - 200,
      max: IDLE_TIMEOUT_MS + 2_500,
    });
    expect(closedAfterMs, 'ms of idle before the server closed').toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 200);
    expect(conn.bytesReceived, 'bytes the server sent in all: the two answers, nothing when it closed an idle connection').toBeLessThan(2 * 400);
  },
);

import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';

// Its own file: the server exits in it.
const server = useSubmission();

/**
 * What a fresh connection meets now: 'refused', or 'closed' (accepted and closed with no answer:
 * a relay or proxy in the path accepts first), else 'answered' or 'no answer' (still open).
 */
function tryConnect(): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(server.endpoint);
    let answered = false;
    const done = (what: string) => {
      socket.destroy();
      resolve(what);
    };
    socket.setTimeout(1_000, () => done('no answer'));
    socket.once('connect', () => socket.write('ECHO late\n'));
    socket.on('data', () => (answered = true));
    socket.once('close', () => done(answered ? 'answered' : 'closed'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'refused' : answered ? 'answered' : 'closed'));
  });
}

/** Exit is due within 2 s of SIGTERM; half a second for the engine to report it. */
const EXIT_WITHIN_MS = 2_000;
const TOLERANCE_MS = 500;

test('SIGTERM: no new connections, what was asked is answered, every connection closed, exit 0 within 2 s', stage(6, 3), async ({ task }) => {
  await using busy = await server.connect({ label: 'busy' });
  await using idle = await server.connect({ label: 'idle' });
  await busy.write('ECHO ready\nSLEEP 500\nECHO after\n');
  expect(await busy.readLine()).toBe('ready');
  const sentAt = performance.now();
  await server.signal('SIGTERM');
  await sleep(150);
  expect(['refused', 'closed'], 'a new connection during the shutdown gets no service').toContain(await tryConnect());
  expect(await busy.readLine(EXIT_WITHIN_MS), 'the SLEEP under way is answered').toBe('SLEPT 500');
  expect(await busy.readLine(EXIT_WITHIN_MS), 'and the command after it').toBe('after');
  await busy.expectClosed(EXIT_WITHIN_MS);
  await idle.expectClosed(EXIT_WITHIN_MS);
  const exit = await server.waitForExit(Math.max(0, EXIT_WITHIN_MS + TOLERANCE_MS - (performance.now() - sentAt)));
  task.meta.measurements = { exitAfterMs: Math.round(performance.now() - sentAt) };
  expect(exit ? `exit code ${exit.exitCode}` : 'still running', `${EXIT_WITHIN_MS} ms after SIGTERM`).toBe('exit code 0');
});

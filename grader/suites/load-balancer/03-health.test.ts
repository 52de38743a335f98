import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { clearBackends, describeFailures, DOWN_WINDOW_MS, fleetWhole, many, request, setMode, tally, useFleet } from './lb.ts';

// Stage 3, health: a backend breaks in each of the ways the contract names; once the health
// window has passed (DOWN_WINDOW_MS: 2 failed checks of up to 1 s each, every 200 ms) no GET
// may fail and none may reach it, and once it is back (2 passing checks) it serves again.
const fleet = useFleet();
const { server, backends } = fleet;
const [b1, b2, b3] = backends as [(typeof backends)[0], (typeof backends)[0], (typeof backends)[0]];
/** How long a repaired backend may take to serve again: 2 checks plus a container restart. */
const REJOIN_TIMEOUT_MS = 8_000;

beforeEach(async () => {
  await clearBackends(backends);
});

afterEach(async ({ task }) => {
  // Leave the next test a whole fleet, whatever this one did to it (a failed test's proxy may
  // never make it whole: do not wait for it then).
  await Promise.all(backends.map((b) => b.unpause().catch(() => {})));
  // Healed and clean: a test that failed before undoing its blackhole would leave one behind.
  await Promise.all(
    backends.map((b) =>
      b.link
        .heal()
        .then(() => b.link.set('clean'))
        .catch(() => {}),
    ),
  );
  await clearBackends(backends).catch(() => {});
  if (task.result?.state !== 'fail') await fleetWhole(fleet, REJOIN_TIMEOUT_MS);
});

/** 30 GETs, 3 at a time: every one must succeed and none reach `gone`. */
async function expectServedWithout(gone: string, what: string): Promise<void> {
  const responses = await many(30, 3, () => request(server, { path: '/after-window', timeoutMs: 5_000 }));
  expect(describeFailures(responses), `GETs that failed ${what}, after the health window`).toBe('');
  expect(tally(responses)[gone] ?? 0, `GETs ${gone} served ${what}: ${JSON.stringify(tally(responses))}`).toBe(0);
}

test('a backend answering 500 (health included) leaves the rotation; others serve every GET', stage(3, 2), async () => {
  await setMode(b2, 'fail');
  await sleep(DOWN_WINDOW_MS);
  await expectServedWithout(b2.name, 'while it fails');
  await setMode(b2, 'ok');
  expect(await fleetWhole(fleet, REJOIN_TIMEOUT_MS), `${b2.name} serves again within ${REJOIN_TIMEOUT_MS} ms of answering 200`).toBe(true);
});

test('a killed backend (docker kill): no failed GET after the window; restarted, it rejoins', stage(3, 3, { timeout: 60_000 }), async () => {
  await b3.kill();
  await sleep(DOWN_WINDOW_MS);
  await expectServedWithout(b3.name, 'while it is dead');
  await b3.restart();
  expect(await fleetWhole(fleet, REJOIN_TIMEOUT_MS), `${b3.name}, restarted, serves again within ${REJOIN_TIMEOUT_MS} ms`).toBe(true);
});

test('a hung host (docker pause): no failed GET after the window; unpaused, it rejoins', stage(3, 3, { timeout: 60_000 }), async () => {
  await b1.pause();
  await sleep(DOWN_WINDOW_MS);
  await expectServedWithout(b1.name, 'while it is paused');
  await b1.unpause();
  expect(await fleetWhole(fleet, REJOIN_TIMEOUT_MS), `${b1.name}, unpaused, serves again within ${REJOIN_TIMEOUT_MS} ms`).toBe(true);
});

test('a blackholed backend (every packet lost): no failed GET after the window; healed, it rejoins', stage(3, 3, { timeout: 60_000 }), async () => {
  await b2.link.set('blackhole');
  await sleep(DOWN_WINDOW_MS);
  await expectServedWithout(b2.name, 'while its link loses everything');
  await b2.link.heal();
  await b2.link.set('clean');
  expect(await fleetWhole(fleet, REJOIN_TIMEOUT_MS), `${b2.name}, healed, serves again within ${REJOIN_TIMEOUT_MS} ms`).toBe(true);
});

test('no healthy backend: 503 at once, and back to 200 when one recovers', stage(3, 1), async () => {
  await Promise.all(backends.map((b) => setMode(b, 'fail')));
  await sleep(DOWN_WINDOW_MS);
  const responses = await many(6, 2, () => request(server, { path: '/none', timeoutMs: 3_000 }));
  expect(
    responses.map((r) => r.error ?? r.status),
    'statuses with every backend down',
  ).toEqual(Array(6).fill(503));
  // The proxy knows nobody is there: it answers itself, without waiting on a timeout.
  expect(Math.max(...responses.map((r) => r.durationMs)), 'the slowest 503, ms').toBeLessThan(500);
  await setMode(b1, 'ok');
  expect(
    await (async () => {
      for (let i = 0; i < 30; i++) {
        if ((await request(server, { path: '/back' })).status === 200) return true;
        await sleep(100);
      }
      return false;
    })(),
    'a 200 within 3 s of one backend recovering',
  ).toBe(true);
});

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { clearBackends, describeFailures, DOWN_WINDOW_MS, echo, fleetWhole, logs, many, request, setMode, tally, useFleet } from './lb.ts';

// Stage 6 runs under wan (20 ms ± 5 ms each way on the proxy's link: between the tests and the
// proxy, and between the proxy and its backends), with the representative tests of stages 1
// and 3: forwarding with bodies, round-robin, pools, and a killed backend.
const fleet = useFleet();
const { server, backends } = fleet;

beforeEach(async () => {
  await clearBackends(backends);
});

test('a 1 MiB upload and a 1 MiB download arrive whole across the link', stage(6, 4), async () => {
  const body = Buffer.alloc(1024 * 1024, 'wan body ');
  const up = await request(server, { method: 'POST', path: '/wan-up?x=1', body, headers: { 'content-length': body.length }, timeoutMs: 15_000 });
  expect(up.error ?? up.status).toBe(200);
  expect(echo(up).bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
  expect(echo(up).url).toBe('/wan-up?x=1');
  const down = await request(server, { path: '/bytes/1048576', timeoutMs: 15_000 });
  expect(down.error ?? down.status).toBe(200);
  expect(down.body.length).toBe(1_048_576);
});

test('round-robin and a pool across the link: 60 requests, 3 at a time, 20 each, few connections', stage(6, 4), async ({ task }) => {
  const responses = await many(60, 3, () => request(server, { path: '/wan-rr', timeoutMs: 10_000 }));
  expect(describeFailures(responses)).toBe('');
  const served = tally(responses);
  // Concurrent requests may finish out of turn, but each backend is picked every third time: 20 ± 2.
  for (const b of backends) expect(served[b.name] ?? 0, `of 60, served by ${b.name}: ${JSON.stringify(served)}`).toBeGreaterThanOrEqual(18);
  const connections = (await logs(backends)).reduce((sum, log) => sum + log.proxiedConnections, 0);
  task.meta.measurements = { backendConnections: connections };
  expect(connections, 'connections the backends accepted for 60 proxied requests (3 at a time)').toBeLessThanOrEqual(20);
});

test('a backend killed under load: in-flight GETs retried, none fails after the window; restarted, it rejoins', stage(6, 7, { timeout: 60_000 }), async () => {
  const victim = backends[1]!;
  await Promise.all(backends.map((b) => setMode(b, 'slow', 600)));
  const inFlight = many(15, 15, (n) => request(server, { path: `/wan-in-flight/${n}`, timeoutMs: 8_000 }));
  await sleep(300); // every GET has reached its backend (one round trip of 40 ms and then some)
  await victim.kill();
  expect(describeFailures(await inFlight), 'GETs in flight at the kill that failed').toBe('');
  await clearBackends(backends.filter((b) => b !== victim));
  await sleep(DOWN_WINDOW_MS);
  const after = await many(30, 3, () => request(server, { path: '/wan-after', timeoutMs: 8_000 }));
  expect(describeFailures(after), 'GETs that failed after the health window').toBe('');
  expect(tally(after)[victim.name] ?? 0).toBe(0);
  await victim.restart();
  expect(await fleetWhole(fleet, 10_000), `${victim.name}, restarted, serves again`).toBe(true);
});

import { beforeEach, expect, test } from 'vitest';
import { figure, stage } from 'netkata/harness';
import { clearBackends, describeFailures, many, request, setMode, tally, useFleet } from './lb.ts';

// Stage 4: STRATEGY=least-connections.
const { server, backends } = useFleet({ STRATEGY: 'least-connections' });
const slowBackend = backends[2]!;

beforeEach(async () => {
  await clearBackends(backends);
});

test('an idle fleet: requests one at a time are shared by all three', stage(4, 2), async ({ task }) => {
  const responses = await many(30, 1, () => request(server, { path: '/idle' }));
  expect(describeFailures(responses)).toBe('');
  const served = tally(responses);
  figure(task, 'fewestServed', Math.min(...backends.map((b) => served[b.name] ?? 0)), { min: 5 });
  // Ties (nothing in flight) must not always go to the same backend: each gets at least 5 of 30.
  for (const b of backends) expect(served[b.name] ?? 0, `of 30, served by ${b.name}: ${JSON.stringify(served)}`).toBeGreaterThanOrEqual(5);
});

test('one backend behind a 200 ms link: at least 70 % of concurrent requests go to the other two', stage(4, 8, { timeout: 60_000 }), async ({ task }) => {
  // Every backend takes 20 ms per request; the slow one's link adds 200 ms each way, so its
  // requests stay in flight 20 times longer. Round-robin gives it a third (33 %); least
  // connections about 5 % here (measured), since it only gets a request when the others have
  // as many in flight.
  await Promise.all(backends.map((b) => setMode(b, 'slow', 20)));
  await slowBackend.link.set({ delayMs: 200 });
  try {
    const responses = await many(120, 12, (n) => request(server, { path: `/lc/${n}`, timeoutMs: 10_000 }));
    expect(describeFailures(responses)).toBe('');
    const served = tally(responses);
    const slowShare = (served[slowBackend.name] ?? 0) / responses.length;
    task.meta.measurements = Object.fromEntries(backends.map((b) => [b.name, served[b.name] ?? 0]));
    figure(task, 'slowSharePercent', Math.round(slowShare * 1000) / 10, { max: 30 });
    expect(slowShare, `share of 120 requests (12 at a time) served by the slow ${slowBackend.name}: ${JSON.stringify(served)}`).toBeLessThanOrEqual(0.3);
  } finally {
    await slowBackend.link.set('clean');
  }
});

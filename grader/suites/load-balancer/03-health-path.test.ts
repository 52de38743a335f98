import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { HEALTH_INTERVAL_MS, logs, useFleet } from './lb.ts';

// Stage 3, HEALTH_PATH: a fleet whose health endpoint is /status. The backends answer any path,
// /healthz included, so only their logs tell which path the proxy checks.
const HEALTH_PATH = '/status';
const { backends } = useFleet({ HEALTH_PATH });

test('health checks go to HEALTH_PATH', stage(3, 1), async () => {
  // Five intervals: at least 3 checks of each backend, even with a check taking 200 ms.
  await sleep(5 * HEALTH_INTERVAL_MS);
  for (const log of await logs(backends)) {
    const paths = log.requests.map((r) => r.url.split('?')[0]);
    const checks = paths.filter((p) => p === HEALTH_PATH).length;
    expect(checks, `GET ${HEALTH_PATH} on ${log.name} within ${5 * HEALTH_INTERVAL_MS} ms (paths it saw: ${[...new Set(paths)].join(', ') || 'none'})`).toBeGreaterThanOrEqual(3);
    expect(paths.filter((p) => p === '/healthz').length, `requests for /healthz on ${log.name}, with HEALTH_PATH=${HEALTH_PATH}`).toBe(0);
  }
});

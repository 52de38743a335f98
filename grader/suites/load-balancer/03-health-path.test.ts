import { expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { eventually, HEALTH_INTERVAL_MS, logs, useFleet, type BackendLog } from './lb.ts';

// Stage 3, HEALTH_PATH: a fleet whose health endpoint is /status. The backends answer any path,
// /healthz included, so only their logs tell which path the proxy checks.
const HEALTH_PATH = '/status';
const { backends } = useFleet({ HEALTH_PATH });

/** Time for 3 checks of each backend: a check every HEALTH_INTERVAL_MS after the last one ended. */
const WAIT_MS = 3 * (HEALTH_INTERVAL_MS + 1_000);

test('health checks go to HEALTH_PATH', stage(3, 1), async () => {
  const checked = (all: BackendLog[]) => all.every((log) => log.requests.filter((r) => r.url.split('?')[0] === HEALTH_PATH).length >= 3);
  await eventually(async () => checked(await logs(backends)), WAIT_MS);
  for (const log of await logs(backends)) {
    const paths = log.requests.map((r) => r.url.split('?')[0]);
    const checks = paths.filter((p) => p === HEALTH_PATH).length;
    expect(checks, `GET ${HEALTH_PATH} on ${log.name} within ${WAIT_MS} ms (paths it saw: ${[...new Set(paths)].join(', ') || 'none'})`).toBeGreaterThanOrEqual(
      3,
    );
    expect(paths.filter((p) => p === '/healthz').length, `requests for /healthz on ${log.name}, with HEALTH_PATH=${HEALTH_PATH}`).toBe(0);
  }
});

// Faulty variants prove the hidden suite bites: each must fail the stage it breaks, and pass
// the stages before it (so the failure is attributed to the right stage).
import { describe, expect, test } from 'vitest';
import { fixture, gradeJson, stageStatuses } from './helpers/cli.ts';

const variants: ReadonlyArray<{ name: string; breaks: number }> = [
  { name: 'bytes-as-strings', breaks: 2 },
  { name: 'one-at-a-time', breaks: 3 },
  { name: 'closes-on-client-fin', breaks: 4 },
  { name: 'crashes-on-reset', breaks: 4 },
  { name: 'no-backpressure', breaks: 5 },
  { name: 'idle-timeout', breaks: 6 },
];

describe('faulty echo servers on the docker runtime', () => {
  test.each(variants)('$name fails stage $breaks and passes the stages before it', async ({ name, breaks }) => {
    const { code, report } = await gradeJson(['echo-server', '--submission', fixture('echo-server', name), '--runtime', 'docker']);
    expect(code).toBe(1);
    const statuses = stageStatuses(report);
    for (let stage = 1; stage < breaks; stage++) expect(statuses[stage], `stage ${stage}`).toBe('pass');
    expect(statuses[breaks], `stage ${breaks}`).toBe('fail');
    const failing = report.tests.filter((t) => t.stage === breaks && t.status === 'failed');
    expect(failing.length).toBeGreaterThan(0);
    expect(failing.every((t) => t.error), 'every failure says why').toBe(true);
  });
});

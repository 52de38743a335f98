// Faulty variants prove the hidden suite bites: each must fail the stage it breaks, and pass
// the stages before it (so the failure is attributed to the right stage).
import { describe, test } from 'vitest';
import { expectBreaksStage, fixture } from './helpers/cli.ts';

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
    await expectBreaksStage('echo-server', fixture('echo-server', name), breaks);
  });
});

// Stage 4: stapled OCSP. A response that marks the leaf revoked is a refusal; a good one, an
// unknown status or none at all is not (soft fail).
import { expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { bodyOf, Exit, said, useZoo } from './zoo.ts';

const zoo = await useZoo();

test('a stapled response saying "revoked" exits 13, before any request', stage(4, 6), async () => {
  const run = await zoo.fetch('ocsp-revoked');
  expect(run.exitCode, said(run)).toBe(Exit.revoked);
  expect(run.stdoutText).toBe('');
  expect((await zoo.memberStats('ocsp-revoked')).requests, 'requests the server received').toBe(0);
});

test('stapled "good" and "unknown" responses are accepted', stage(4, 4), async () => {
  for (const kind of ['ocsp-good', 'ocsp-unknown'] as const) {
    const run = await zoo.fetch(kind);
    expect(run.exitCode, `${kind}: ${said(run)}`).toBe(Exit.ok);
    expect(run.stdoutText).toBe(bodyOf(kind));
  }
});

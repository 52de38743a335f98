// Stage 2: trust only the given CA, only within validity dates, only for the right host name.
// Every refusal comes before the request: the server must not see one.
import { expect, test } from 'vitest';
import { stage, type ZooMemberKind } from 'netkata/harness';
import { DEEP_WILDCARD_HOST, Exit, said, useZoo } from './zoo.ts';

const zoo = await useZoo();

async function expectRefused(kind: ZooMemberKind, exitCode: number, host?: string) {
  const run = await zoo.fetch(kind, host ? { host } : {});
  expect(run.exitCode, `${kind}${host ? ` at ${host}` : ''}: ${said(run)}`).toBe(exitCode);
  expect(run.stdoutText, `${kind}: nothing on stdout`).toBe('');
}

test('untrusted chains exit 10: the leaf without its intermediate, a self-signed leaf, a leaf from another CA', stage(2, 9), async () => {
  for (const kind of ['missing-intermediate', 'self-signed', 'other-ca'] as const) await expectRefused(kind, Exit.untrustedChain);
  const stats = await zoo.stats();
  expect(
    [stats.members['missing-intermediate'], stats.members['self-signed'], stats.members['other-ca']].map((s) => s.requests),
    'requests those servers received',
  ).toEqual([0, 0, 0]);
});

test('certificates outside their dates exit 12: expired, not yet valid', stage(2, 8), async () => {
  for (const kind of ['expired', 'not-yet-valid'] as const) await expectRefused(kind, Exit.notValidNow);
});

test('a certificate for another name exits 11; *.zoo.test does not cover deep.wildcard.zoo.test', stage(2, 8), async () => {
  await expectRefused('wrong-host', Exit.hostnameMismatch);
  await expectRefused('wildcard', Exit.hostnameMismatch, DEEP_WILDCARD_HOST);
  expect((await zoo.memberStats('wrong-host')).requests, 'requests the wrong-host server received').toBe(0);
});

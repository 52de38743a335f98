// Stage 5: --pin sha256/<base64 of the leaf's SubjectPublicKeyInfo hash>.
import { expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { bodyOf, Exit, said, useZoo, WRONG_PIN } from './zoo.ts';

const zoo = await useZoo();

test('the right pin passes', stage(5, 4), async () => {
  const run = await zoo.fetch('valid', { args: ['--pin', zoo.pinOf('valid')] });
  expect(run.exitCode, said(run)).toBe(Exit.ok);
  expect(run.stdoutText).toBe(bodyOf('valid'));
});

test('a wrong pin exits 15 before any request', stage(5, 6), async () => {
  await zoo.reset();
  const run = await zoo.fetch('valid', { args: ['--pin', WRONG_PIN] });
  expect(run.exitCode, said(run)).toBe(Exit.pinMismatch);
  expect(run.stdoutText).toBe('');
  // Not the server's handshake count: a client that hangs up right after its Finished may leave
  // before the server counts the handshake complete.
  expect((await zoo.memberStats('valid')).requests, 'requests the server received').toBe(0);
});

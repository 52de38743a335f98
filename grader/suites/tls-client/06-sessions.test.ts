// Stage 6: --session across two runs (each run a fresh container; the session file lives in the
// test's STATE_DIR), confirmed by the server; the pin still holds on a resumed connection, and a
// session is not offered to another name of the same server.
import { expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { ALIAS_HOST, bodyOf, Exit, said, useZoo, WRONG_PIN } from './zoo.ts';

const zoo = await useZoo();

test.each([
  ['tls13-tickets', 'TLSv1.3'],
  ['tls12-tickets', 'TLSv1.2'],
] as const)('%s: the second run resumes the session the first saved (%s), as the server confirms', stage(6, 5), async (kind, version) => {
  await zoo.reset();
  const session = ['--session', `${zoo.stateDir}/session`];
  const first = await zoo.fetch(kind, { args: session });
  expect(first.exitCode, said(first)).toBe(Exit.ok);
  expect(first.summary, said(first)).toMatchObject({ tls: version, resumed: false });
  const second = await zoo.fetch(kind, { args: session });
  expect(second.exitCode, said(second)).toBe(Exit.ok);
  expect(second.stdoutText).toBe(bodyOf(kind));
  expect(second.summary, said(second)).toMatchObject({ tls: version, resumed: true });
  const stats = await zoo.memberStats(kind);
  expect(
    stats.connections.map((c) => c.resumed),
    'resumed, per connection the server saw',
  ).toEqual([false, true]);
});

test.each(['tls13-tickets', 'tls12-tickets'] as const)(
  '%s: --session with a wrong --pin exits 15 on a resumed connection, before any request',
  stage(6, 2),
  async (kind) => {
    const session = ['--session', `${zoo.stateDir}/session`];
    const first = await zoo.fetch(kind, { args: [...session, '--pin', zoo.pinOf(kind)] });
    expect(first.exitCode, said(first)).toBe(Exit.ok);
    await zoo.reset();
    const refused = await zoo.fetch(kind, { args: [...session, '--pin', WRONG_PIN] });
    expect(refused.exitCode, said(refused)).toBe(Exit.pinMismatch);
    expect(refused.stdoutText).toBe('');
    expect((await zoo.memberStats(kind)).requests, 'requests the server received').toBe(0);
  },
);

// A client that offered its session to any name would, where the TLS library resumes it there,
// skip the host name check (Node checks no name on a resumed connection).
test('a session saved at one name is not used at another name of the same server (alias.zoo.test): exit 11, at TLS 1.3 and TLS 1.2', stage(6, 3), async () => {
  for (const kind of ['tls13-tickets', 'tls12-tickets'] as const) {
    const session = ['--session', `${zoo.stateDir}/${kind}`];
    const first = await zoo.fetch(kind, { args: session });
    expect(first.exitCode, said(first)).toBe(Exit.ok);
    const alias = await zoo.fetch(kind, { host: ALIAS_HOST, args: session });
    expect(alias.exitCode, `${kind} at ${ALIAS_HOST}: ${said(alias)}`).toBe(Exit.hostnameMismatch);
    expect(alias.stdoutText).toBe('');
  }
});

// Stage 3: nothing below TLS 1.2, and ALPN as asked.
import { expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { Exit, said, useZoo } from './zoo.ts';

const zoo = await useZoo();

test('servers that speak only TLS 1.0 or only TLS 1.1 exit 14', stage(3, 8), async () => {
  for (const kind of ['tls10-only', 'tls11-only'] as const) {
    const run = await zoo.fetch(kind);
    expect(run.exitCode, `${kind}: ${said(run)}`).toBe(Exit.protocolTooOld);
    expect(run.stdoutText).toBe('');
  }
  const stats = await zoo.stats();
  expect(stats.members['tls10-only'].handshakes + stats.members['tls11-only'].handshakes, 'old handshakes completed').toBe(0);
});

test("--alpn offers the list and reports the server's choice (or none); no protocol in common exits 16", stage(3, 7), async () => {
  const both = await zoo.fetch('alpn', { args: ['--alpn', 'http/1.1,h2'] });
  expect(both.exitCode, said(both)).toBe(Exit.ok);
  expect(both.summary?.alpn, 'the server prefers h2').toBe('h2');
  expect((await zoo.lastConnection('alpn')).alpn).toBe('h2');
  const one = await zoo.fetch('alpn', { args: ['--alpn', 'http/1.1'] });
  expect(one.summary?.alpn, said(one)).toBe('http/1.1');
  const without = await zoo.fetch('valid', { args: ['--alpn', 'h2,http/1.1'] });
  expect(without.summary?.alpn, `a server without ALPN: ${said(without)}`).toBe('none');
  const none = await zoo.fetch('alpn', { args: ['--alpn', 'spdy/1'] });
  expect(none.exitCode, said(none)).toBe(Exit.otherTls);
});

// Stage 1: a GET over TLS to good servers: the body on stdout, the summary on stderr agreeing
// with what the server negotiated, SNI sent, the request as the contract says; a 404 exits 20,
// bad usage 2, a closed port 20.
import { expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { bodyOf, Exit, hostOf, portOf, said, useZoo } from './zoo.ts';

const zoo = await useZoo();

test('valid: the body on stdout, one summary line on stderr that agrees with the server, SNI and a GET with Connection: close', stage(1, 6), async () => {
  const run = await zoo.fetch('valid');
  expect(run.exitCode, said(run)).toBe(Exit.ok);
  expect(run.stdoutText).toBe(bodyOf('valid'));
  const seen = await zoo.lastConnection('valid');
  expect(run.summary, `a line "tls=... alpn=... resumed=... cipher=..." on stderr; got: ${run.stderrText.trim()}`).toEqual({
    tls: seen.protocol,
    alpn: 'none',
    resumed: false,
    cipher: seen.cipher,
  });
  expect(seen.servername, 'the SNI name the server received').toBe(hostOf('valid'));
  expect(seen.request).toMatchObject({ method: 'GET', target: '/', version: 'HTTP/1.1' });
  expect(seen.request!.headers).toMatchObject({ host: `${hostOf('valid')}:${portOf('valid')}`, connection: 'close' });
});

test.each([
  ['wildcard', hostOf('wildcard')],
  ['sni', 'sni-a.zoo.test'],
  ['sni', 'sni-b.zoo.test'],
] as const)('%s at %s: exit 0 with the body (a certificate for *.zoo.test; one certificate per SNI name)', stage(1, 2), async (kind, host) => {
  const run = await zoo.fetch(kind, { host });
  expect(run.exitCode, said(run)).toBe(Exit.ok);
  expect(run.stdoutText).toBe(bodyOf(kind));
  expect(run.summary?.resumed).toBe(false);
});

test('http-404: a complete response with status 404 exits 20, after a good handshake', stage(1, 3), async () => {
  const run = await zoo.fetch('http-404');
  expect(run.exitCode, said(run)).toBe(Exit.networkOrHttp);
  expect((await zoo.memberStats('http-404')).requests, 'requests the server received').toBe(1);
});

test('bad usage exits 2: no --ca, an http URL, a malformed pin, an unknown option', stage(1, 3), async () => {
  const url = zoo.url('valid');
  for (const args of [
    [url],
    [url.replace('https:', 'http:'), '--ca', zoo.caPath],
    [url, '--ca', zoo.caPath, '--pin', 'sha1/abc'],
    [url, '--ca', zoo.caPath, '--frobnicate'],
  ]) {
    const run = await zoo.run(args);
    expect(run.exitCode, `main ${args.join(' ')}: ${said(run)}`).toBe(Exit.usage);
  }
});

test('a closed port exits 20', stage(1, 2), async () => {
  const run = await zoo.run([`https://${hostOf('valid')}:1/`, '--ca', zoo.caPath]);
  expect(run.exitCode, said(run)).toBe(Exit.networkOrHttp);
});

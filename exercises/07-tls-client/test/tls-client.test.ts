// Visible tests: run them with `npx netkata test tls-client` (your src/main.ts as a process on
// this machine, a few seconds). A TLS zoo runs on 127.0.0.1 with a fresh test CA; its names
// (valid.zoo.test, expired.zoo.test...) resolve to 127.0.0.1 in your client only, through
// resolve-zoo-to-loopback.mjs, preloaded with NODE_OPTIONS. The hidden suite goes further: see README.md.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  makePki,
  stage,
  startLocalZoo,
  useClient,
  zooCatalogue,
  zooServerConfig,
  type ClientRun,
  type StartedLocalZoo,
  type ZooMemberKind,
  type ZooPki,
} from 'netkata/harness';

const resolver = fileURLToPath(new URL('./resolve-zoo-to-loopback.mjs', import.meta.url));
const catalogue = zooCatalogue('zoo.test');
const client = useClient();
let pki: ZooPki;
let zoo: StartedLocalZoo;
let workDir: string;
let caFile: string;

beforeAll(async () => {
  pki = await makePki(catalogue.leaves);
  zoo = await startLocalZoo(zooServerConfig(catalogue, pki, { host: '127.0.0.1' }));
  workDir = await mkdtemp(path.join(os.tmpdir(), 'netkata-tls-client-'));
  caFile = path.join(workDir, 'ca.pem');
  await writeFile(caFile, pki.root.cert);
});

afterAll(async () => {
  await zoo?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const url = (kind: ZooMemberKind) => `https://${kind}.zoo.test:${zoo.port(kind)}/`;

/** Your client at member `kind`, trusting the test CA (a file on this machine; the grader puts it in $FILES_DIR). */
async function fetchAt(kind: ZooMemberKind, extra: string[] = []): Promise<ClientRun> {
  return client.run([url(kind), '--ca', caFile, ...extra], {
    env: { NODE_OPTIONS: `--import=${resolver}` },
    timeoutMs: 10_000,
  });
}

const said = (run: ClientRun) => `exit ${run.exitCode}; stderr: ${run.stderrText.trim() || '(empty)'}`;

test('valid.zoo.test: the body on stdout, the summary line on stderr, exit 0', stage(1, 1), async () => {
  const run = await fetchAt('valid');
  expect(run.exitCode, said(run)).toBe(0);
  expect(run.stdoutText).toBe('netkata tls zoo: valid\n');
  expect(run.stderrText).toMatch(/^tls=TLSv1\.3 alpn=none resumed=no cipher=\S+$/m);
});

test('bad usage exits 2', stage(1, 1), async () => {
  const run = await client.run([url('valid')]);
  expect(run.exitCode, `no --ca: ${said(run)}`).toBe(2);
});

test.each([
  ['self-signed', 10],
  ['wrong-host', 11],
  ['expired', 12],
] as const)('%s.zoo.test exits %i', stage(2, 1), async (kind, exitCode) => {
  const run = await fetchAt(kind);
  expect(run.exitCode, said(run)).toBe(exitCode);
  expect(run.stdoutText).toBe('');
});

test('tls10-only.zoo.test exits 14', stage(3, 1), async () => {
  const run = await fetchAt('tls10-only');
  expect(run.exitCode, said(run)).toBe(14);
});

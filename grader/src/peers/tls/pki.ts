import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { logger } from '../../log.ts';
import { openssl } from './openssl.ts';

const log = logger('tls-pki');

const DAY_MS = 86_400_000;

/** Who signs a leaf: the test CA's intermediate, an unrelated CA, or the leaf itself. */
type LeafIssuer = 'intermediate' | 'other-ca' | 'self';

/** When a leaf is valid, relative to now. */
type LeafValidity = 'current' | 'expired' | 'not-yet-valid';

export interface LeafSpec {
  /** Key in `ZooPki.leaves`. */
  id: string;
  /** subjectAltName DNS entries; the first is also the subject's CN. */
  dnsNames: readonly string[];
  issuer: LeafIssuer;
  validity: LeafValidity;
  /** Recorded as revoked in the intermediate's database before OCSP responses are made. */
  revoked?: boolean;
  /**
   * Make a DER OCSP response for this leaf, as a server would staple it (intermediate-issued
   * only): 'database' says what the intermediate's database says (good, or revoked), 'unknown'
   * is what a responder that never heard of the certificate says.
   */
  ocsp?: 'database' | 'unknown';
}

/** A CA certificate and its key, PEM. */
interface CaCredential {
  cert: Buffer;
  key: Buffer;
}

interface IssuedLeaf {
  spec: LeafSpec;
  /** The leaf alone, PEM. */
  cert: Buffer;
  /** What a correct server sends after the leaf, PEM: the intermediate, the other CA's root, or nothing (self-signed). */
  issuerChain: Buffer;
  key: Buffer;
  der: Buffer;
  /** base64 SHA-256 of the DER SubjectPublicKeyInfo: what `--pin sha256/<...>` names. */
  spkiSha256: string;
  /** Upper-case hex, as Node's X509Certificate.serialNumber gives it. */
  serialNumber: string;
  /** DER OCSPResponse when `spec.ocsp` asks for one. */
  ocspResponse?: Buffer;
}

export interface ZooPki {
  /** The CA a client is told to trust (`--ca`). */
  root: CaCredential;
  intermediate: CaCredential;
  /** A CA nobody is told to trust. */
  otherRoot: CaCredential;
  leaves: Record<string, IssuedLeaf>;
  /** Wall time of makePki, to keep it honest (a few hundred ms on this project's machines). */
  elapsedMs: number;
}

// One database for every CA: `openssl ca` records each certificate by its (random) serial, and the
// OCSP responder answers from the same index. `copy_extensions = copy` takes subjectAltName from
// the request, so one section serves every leaf.
const CONFIG = `
[ca]
default_ca = zoo

[zoo]
dir = .
database = index.txt
new_certs_dir = issued
rand_serial = yes
default_md = sha256
policy = any_name
copy_extensions = copy
unique_subject = no
email_in_dn = no

[any_name]
commonName = supplied

[req]
distinguished_name = dn
prompt = no

[dn]
CN = placeholder

[root_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[intermediate_ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[server_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[self_signed_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
`;

/** `openssl ca -startdate/-enddate` take GeneralizedTime: YYYYMMDDHHMMSSZ. */
function asn1Time(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * Validity windows. Current certificates start a day back so a peer whose clock trails the
 * grader's (a remote engine) still accepts them; expired ones ended a day ago, future ones start
 * in a day: far outside any clock skew, near enough to read plausibly.
 */
function window(validity: LeafValidity, nowMs: number): [string, string] {
  switch (validity) {
    case 'current':
      return [asn1Time(nowMs - DAY_MS), asn1Time(nowMs + 30 * DAY_MS)];
    case 'expired':
      return [asn1Time(nowMs - 30 * DAY_MS), asn1Time(nowMs - DAY_MS)];
    case 'not-yet-valid':
      return [asn1Time(nowMs + DAY_MS), asn1Time(nowMs + 30 * DAY_MS)];
  }
}

/** Runs the tasks at most `limit` at a time: openssl is CPU-bound and the machines have two cores. */
async function inBatches<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

function spkiSha256(cert: X509Certificate): string {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * Makes a fresh PKI for one grading run with the openssl CLI, in a temporary folder removed
 * afterwards: a root test CA, an intermediate under it, an unrelated CA, the leaves asked for
 * (EC P-256 throughout: fast to make and to use), and DER OCSP responses signed by the
 * intermediate for the leaves that want one. Fresh per run, so nothing a learner saw before can
 * be trusted, pinned or resumed.
 */
export async function makePki(leafSpecs: readonly LeafSpec[]): Promise<ZooPki> {
  const startedMs = performance.now();
  const nowMs = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-pki-'));
  const run = (args: string[]) => openssl(args, dir);
  const file = (name: string) => path.join(dir, name);
  log(`Making a PKI with ${leafSpecs.length} leaves in ${dir}...`);
  try {
    await writeFile(file('openssl.cnf'), CONFIG);
    await writeFile(file('index.txt'), '');
    await writeFile(file('empty-index.txt'), '');
    await mkdir(file('issued'));

    const ids = new Set<string>();
    for (const spec of leafSpecs) {
      if (ids.has(spec.id)) throw new Error(`leaf id ${spec.id} given twice`);
      if (spec.ocsp && spec.issuer !== 'intermediate') throw new Error(`leaf ${spec.id}: only intermediate-issued leaves get OCSP responses`);
      ids.add(spec.id);
    }

    // Keys and signing requests are independent: make them in parallel.
    const request =
      (name: string, cn: string, dnsNames: readonly string[] = []) =>
      () =>
        run([
          'req',
          '-new',
          '-config',
          'openssl.cnf',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.csr`,
          '-subj',
          `/CN=${cn}`,
          ...(dnsNames.length > 0 ? ['-addext', `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}`] : []),
        ]);
    await inBatches(
      [
        request('root', 'netkata zoo test root CA'),
        request('intermediate', 'netkata zoo test intermediate CA'),
        request('other-root', 'netkata zoo unrelated CA'),
        ...leafSpecs.map((spec) => request(`leaf-${spec.id}`, spec.dnsNames[0] ?? spec.id, spec.dnsNames)),
      ],
      4,
    );

    // Signing goes through one database, so it is sequential (about 5 ms each).
    const sign = (name: string, issuer: string, extensions: string, validity: LeafValidity) => {
      const [start, end] = window(validity, nowMs);
      return run([
        'ca',
        '-batch',
        '-config',
        'openssl.cnf',
        '-notext',
        '-in',
        `${name}.csr`,
        '-out',
        `${name}.crt`,
        '-extensions',
        extensions,
        '-startdate',
        start,
        '-enddate',
        end,
        ...(issuer === 'self' ? ['-selfsign', '-keyfile', `${name}.key`] : ['-cert', `${issuer}.crt`, '-keyfile', `${issuer}.key`]),
      ]);
    };
    await sign('root', 'self', 'root_ca', 'current');
    await sign('other-root', 'self', 'root_ca', 'current');
    await sign('intermediate', 'root', 'intermediate_ca', 'current');
    for (const spec of leafSpecs) {
      const name = `leaf-${spec.id}`;
      switch (spec.issuer) {
        case 'intermediate':
          await sign(name, 'intermediate', 'server_leaf', spec.validity);
          break;
        case 'other-ca':
          await sign(name, 'other-root', 'server_leaf', spec.validity);
          break;
        case 'self':
          await sign(name, 'self', 'self_signed_leaf', spec.validity);
          break;
      }
      if (spec.revoked) {
        await run([
          'ca',
          '-config',
          'openssl.cnf',
          '-cert',
          'intermediate.crt',
          '-keyfile',
          'intermediate.key',
          '-revoke',
          `${name}.crt`,
          '-crl_reason',
          'keyCompromise',
        ]);
      }
    }

    // The issuing CA signs its own responses (RFC 6960 allows it; no delegated responder needed).
    await inBatches(
      leafSpecs
        .filter((spec) => spec.ocsp)
        .map(
          (spec) => () =>
            run([
              'ocsp',
              '-index',
              spec.ocsp === 'unknown' ? 'empty-index.txt' : 'index.txt',
              '-CA',
              'intermediate.crt',
              '-rsigner',
              'intermediate.crt',
              '-rkey',
              'intermediate.key',
              '-issuer',
              'intermediate.crt',
              '-cert',
              `leaf-${spec.id}.crt`,
              '-no_nonce',
              '-ndays',
              '1',
              '-respout',
              `leaf-${spec.id}.ocsp.der`,
            ]),
        ),
      4,
    );

    const credential = async (name: string): Promise<CaCredential> => ({
      cert: await readFile(file(`${name}.crt`)),
      key: await readFile(file(`${name}.key`)),
    });
    const root = await credential('root');
    const intermediate = await credential('intermediate');
    const otherRoot = await credential('other-root');

    const leaves: Record<string, IssuedLeaf> = {};
    for (const spec of leafSpecs) {
      const { cert, key } = await credential(`leaf-${spec.id}`);
      const x509 = new X509Certificate(cert);
      leaves[spec.id] = {
        spec,
        cert,
        key,
        der: x509.raw,
        issuerChain: spec.issuer === 'intermediate' ? intermediate.cert : spec.issuer === 'other-ca' ? otherRoot.cert : Buffer.alloc(0),
        spkiSha256: spkiSha256(x509),
        serialNumber: x509.serialNumber.toUpperCase(),
        ...(spec.ocsp ? { ocspResponse: await readFile(file(`leaf-${spec.id}.ocsp.der`)) } : {}),
      };
    }
    const elapsedMs = Math.round(performance.now() - startedMs);
    log(`Made a PKI with ${leafSpecs.length} leaves in ${elapsedMs} ms`);
    return { root, intermediate, otherRoot, leaves, elapsedMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

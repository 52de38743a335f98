import type { LeafSpec } from './pki.ts';

/** The exit codes of the exercise's contract (07-tls-client), by meaning. */
export const tlsClientExit = {
  ok: 0,
  usage: 2,
  untrustedChain: 10,
  hostnameMismatch: 11,
  notValidNow: 12,
  revoked: 13,
  protocolTooOld: 14,
  pinMismatch: 15,
  otherTls: 16,
  networkOrHttp: 20,
} as const;

export type ZooMemberKind =
  | 'valid'
  | 'missing-intermediate'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-host'
  | 'wildcard'
  | 'self-signed'
  | 'other-ca'
  | 'tls10-only'
  | 'tls11-only'
  | 'sni'
  | 'alpn'
  | 'tls12-tickets'
  | 'tls13-tickets'
  | 'ocsp-good'
  | 'ocsp-revoked'
  | 'ocsp-unknown'
  | 'http-404';

/** What the zoo server does differently for a member; everything else is a plain good server. */
interface ZooMemberTraits {
  /** Send the leaf alone, without the intermediate a correct server sends. */
  omitIntermediate?: boolean;
  /** Only this protocol version; TLS 1.0/1.1 also need OpenSSL's security level 0 (see zoo-server.cjs). */
  onlyVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.3';
  maxVersion?: 'TLSv1.2';
  /** Offered by the server, chosen in this order of preference. */
  alpn?: readonly string[];
  /** Session tickets; off elsewhere, so only these members can resume. */
  tickets?: boolean;
  /** Staple the leaf's OCSP response. */
  staple?: boolean;
  /** HTTP status of every answer (200 elsewhere). */
  status?: number;
}

export interface ZooMember {
  kind: ZooMemberKind;
  /** Names a client connects to. The sni member answers two, each with its own certificate. */
  hosts: readonly string[];
  /** What a correct client exits with at every one of `hosts` (no `--pin`, no `--alpn`). */
  expectedExit: number;
  /** The leaf served for each host, by `LeafSpec.id`, in the order of `hosts`. */
  leafIds: readonly string[];
  /**
   * The leaf sent when the client names no host (no SNI) or an unknown one: only the sni member
   * has one, a certificate for another name, so a client that sends no SNI fails its hostname check.
   */
  defaultLeafId?: string;
  traits: ZooMemberTraits;
}

export interface ZooCatalogue {
  members: ZooMember[];
  /** Everything the members need from the PKI. */
  leaves: LeafSpec[];
}

/**
 * The zoo under a DNS domain: member `valid` answers `valid.<domain>`, and so on. Every leaf is
 * right for its host but for the one defect its member stands for, so a client's exit code says
 * which check it made. The wildcard member's certificate names `*.<domain>`; the wrong-host
 * member's names `elsewhere.<domain>`, a host nobody serves.
 */
export function zooCatalogue(domain = 'zoo.test'): ZooCatalogue {
  const host = (label: string) => `${label}.${domain}`;
  const leaves: LeafSpec[] = [];
  const members: ZooMember[] = [];
  const leaf = (spec: Omit<LeafSpec, 'issuer' | 'validity'> & Partial<LeafSpec>): string => {
    leaves.push({ issuer: 'intermediate', validity: 'current', ...spec });
    return spec.id;
  };
  const add = (kind: ZooMemberKind, expectedExit: number, traits: ZooMemberTraits, spec: Partial<LeafSpec> = {}) => {
    const id = leaf({ id: kind, dnsNames: [host(kind)], ...spec });
    members.push({ kind, hosts: [host(kind)], expectedExit, leafIds: [id], traits });
  };
  const exit = tlsClientExit;

  add('valid', exit.ok, {});
  add('missing-intermediate', exit.untrustedChain, { omitIntermediate: true });
  add('expired', exit.notValidNow, {}, { validity: 'expired' });
  add('not-yet-valid', exit.notValidNow, {}, { validity: 'not-yet-valid' });
  add('wrong-host', exit.hostnameMismatch, {}, { dnsNames: [host('elsewhere')] });
  add('wildcard', exit.ok, {}, { dnsNames: [`*.${domain}`] });
  add('self-signed', exit.untrustedChain, {}, { issuer: 'self' });
  add('other-ca', exit.untrustedChain, {}, { issuer: 'other-ca' });
  add('tls10-only', exit.protocolTooOld, { onlyVersion: 'TLSv1' });
  add('tls11-only', exit.protocolTooOld, { onlyVersion: 'TLSv1.1' });
  const sniHosts = [host('sni-a'), host('sni-b')];
  members.push({
    kind: 'sni',
    hosts: sniHosts,
    expectedExit: exit.ok,
    leafIds: sniHosts.map((name, i) => leaf({ id: `sni-${'ab'[i]}`, dnsNames: [name] })),
    defaultLeafId: leaf({ id: 'sni-default', dnsNames: [host('elsewhere')] }),
    traits: {},
  });
  add('alpn', exit.ok, { alpn: ['h2', 'http/1.1'] });
  add('tls12-tickets', exit.ok, { maxVersion: 'TLSv1.2', tickets: true });
  add('tls13-tickets', exit.ok, { onlyVersion: 'TLSv1.3', tickets: true });
  add('ocsp-good', exit.ok, { staple: true }, { ocsp: 'database' });
  add('ocsp-revoked', exit.revoked, { staple: true }, { ocsp: 'database', revoked: true });
  // The contract soft-fails: a status the responder does not know is no reason to refuse.
  add('ocsp-unknown', exit.ok, { staple: true }, { ocsp: 'unknown' });
  add('http-404', exit.networkOrHttp, { status: 404 });
  return { members, leaves };
}

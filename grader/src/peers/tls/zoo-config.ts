import type { ZooPki } from './pki.ts';
import type { ZooCatalogue, ZooMemberKind } from './zoo-members.ts';

export type TlsVersionName = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** A certificate chain as served (PEM, leaf first) and its key. */
interface ServedCredential {
  cert: string;
  key: string;
}

/** One member as zoo-server.cjs reads it. Keep in step with that script's header comment. */
interface ZooServerMemberConfig extends ServedCredential {
  name: ZooMemberKind;
  /** 0: any free port (the script reports the ports it got). */
  port: number;
  /** Contexts by SNI host name; the member's own credential answers anything else. */
  sni?: Array<ServedCredential & { servername: string }>;
  minVersion: TlsVersionName;
  maxVersion: TlsVersionName;
  /** OpenSSL cipher string; old protocols need `@SECLEVEL=0`. */
  ciphers?: string;
  alpn?: string[];
  tickets: boolean;
  /** base64 DER OCSPResponse to staple. */
  ocspResponse?: string;
  status: number;
}

export interface ZooServerConfig {
  /** Address every member and the control port listen on. */
  host: string;
  /** Plain HTTP: GET /stats, POST /reset, GET /ping, with the zoo's control secret only (zoo-server.cjs). 0: any free port. */
  controlPort: number;
  members: ZooServerMemberConfig[];
}

export interface ZooConfigOptions {
  host?: string;
  controlPort?: number;
  /** Port per member; default 0 everywhere (for a zoo on the host's loopback). */
  portOf?: (kind: ZooMemberKind, index: number) => number;
}

/**
 * OpenSSL 3 refuses TLS 1.0/1.1 at its default security level (1 or above): their handshake
 * signatures use SHA-1 (or MD5+SHA-1), so the server finds no usable signature algorithm and
 * answers `internal_error`. Level 0 lets the old handshakes complete, which is the point of
 * these members: a client must refuse them by version, not by accident.
 */
const LEGACY_CIPHERS = 'DEFAULT@SECLEVEL=0';

/** The zoo server's configuration for a catalogue's members and the PKI made for them. */
export function zooServerConfig(catalogue: ZooCatalogue, pki: ZooPki, options: ZooConfigOptions = {}): ZooServerConfig {
  const served = (leafId: string, omitIntermediate = false): ServedCredential => {
    const leaf = pki.leaves[leafId];
    if (!leaf) throw new Error(`the PKI has no leaf ${leafId}`);
    const chain = omitIntermediate ? leaf.cert : Buffer.concat([leaf.cert, leaf.issuerChain]);
    return { cert: chain.toString('utf8'), key: leaf.key.toString('utf8') };
  };
  const members = catalogue.members.map((member, index): ZooServerMemberConfig => {
    const { traits } = member;
    const [firstLeafId] = member.leafIds;
    const own = served(member.defaultLeafId ?? firstLeafId!, traits.omitIntermediate);
    const ocsp = traits.staple ? pki.leaves[firstLeafId!]?.ocspResponse : undefined;
    const old = traits.onlyVersion === 'TLSv1' || traits.onlyVersion === 'TLSv1.1';
    return {
      name: member.kind,
      port: options.portOf?.(member.kind, index) ?? 0,
      ...own,
      ...(member.defaultLeafId ? { sni: member.hosts.map((servername, i) => ({ servername, ...served(member.leafIds[i]!, traits.omitIntermediate) })) } : {}),
      minVersion: traits.onlyVersion ?? 'TLSv1.2',
      maxVersion: traits.onlyVersion ?? traits.maxVersion ?? 'TLSv1.3',
      ...(old ? { ciphers: LEGACY_CIPHERS } : {}),
      ...(traits.alpn ? { alpn: [...traits.alpn] } : {}),
      tickets: traits.tickets ?? false,
      ...(ocsp ? { ocspResponse: ocsp.toString('base64') } : {}),
      status: traits.status ?? 200,
    };
  });
  return { host: options.host ?? '0.0.0.0', controlPort: options.controlPort ?? 0, members };
}

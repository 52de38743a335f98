import type { TlsVersionName } from './zoo-config.ts';
import type { ZooMemberKind } from './zoo-members.ts';

/** One TLS connection a member completed, as zoo-server.cjs records it. */
export interface ZooConnectionRecord {
  at: string;
  /** The SNI name the client sent; null without SNI (and on a resumed TLS 1.2 connection, where OpenSSL's server does not report it). */
  servername: string | null;
  protocol: TlsVersionName;
  /** OpenSSL's name for the suite, as Node's getCipher().name gives it on both ends. */
  cipher: string | null;
  alpn: string | null;
  resumed: boolean;
  /** TCP accept to handshake complete on the server. */
  secureMs: number;
  /** TCP accept to the request head received: counts the client's round trips; null if none came. */
  requestMs: number | null;
  request: { method: string; target: string; version: string; headers: Record<string, string> } | null;
}

export interface ZooMemberStats {
  port: number;
  handshakes: number;
  resumed: number;
  requests: number;
  protocols: Partial<Record<TlsVersionName, number>>;
  /** Negotiated ALPN protocol ('none' without one) to count. */
  alpn: Record<string, number>;
  /** The latest connections, oldest first. */
  connections: ZooConnectionRecord[];
  /** Handshakes the server saw fail, with Node's code (a client's alert shows up here as ERR_SSL_..._ALERT_...). */
  clientErrors: Array<{ at: string; code: string; message: string }>;
}

/** GET /stats on the zoo's control port. */
export interface ZooStats {
  members: Record<ZooMemberKind, ZooMemberStats>;
}

// The exit codes of the exercise's contract and the one place that maps what Node and OpenSSL
// report to them.

export const Exit = {
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

export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** A refusal or failure this client decided on itself, with the exit code it means. */
export class ClientFailure extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ClientFailure';
  }
}

// Chain verification. Node reports OpenSSL's X509_V_ERR_* names without the prefix as `code`
// when rejectUnauthorized refuses a chain. Seen against the zoo (Node 20, OpenSSL 3.0):
//   missing intermediate        UNABLE_TO_VERIFY_LEAF_SIGNATURE
//   self-signed leaf            DEPTH_ZERO_SELF_SIGNED_CERT
//   leaf + an unrelated root    SELF_SIGNED_CERT_IN_CHAIN (leaf alone: UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
const UNTRUSTED_CHAIN = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

// Node's own checkServerIdentity (RFC 6125: SAN DNS names, a wildcard only as the whole
// leftmost label, never `*.tld`) fails with ERR_TLS_CERT_ALTNAME_INVALID; HOSTNAME_MISMATCH is
// OpenSSL's name for the same, should its own check be used.
const HOSTNAME_MISMATCH = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);

// Any certificate of the chain outside its validity period (or with a malformed date).
const NOT_VALID_NOW = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD']);

// A server that offers only TLS 1.0/1.1 answers a ClientHello whose versions start at 1.2 with a
// protocol_version alert (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION, what OpenSSL servers do); one
// that replies with an old ServerHello instead makes OpenSSL's client stop with "unsupported
// protocol" (or "version too low"). ERR_SSL_WRONG_VERSION_NUMBER is not here: it means the
// peer's records are not TLS at all (plain HTTP on the port, say), an "other TLS failure".
const PROTOCOL_TOO_OLD = new Set(['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_VERSION_TOO_LOW']);

// The connection itself: name resolution, refusal, resets (also "socket disconnected before
// secure TLS connection was established", which Node reports as ECONNRESET), timeouts.
const NETWORK = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
]);

/**
 * The exit code for an error met while connecting and handshaking. Our own refusals carry their
 * code; OpenSSL's certificate verdicts and Node's hostname check are mapped by the sets above;
 * a revoked certificate (CERT_REVOKED, from a CRL) is 13 as a stapled "revoked" is; system
 * errors are the network's (20); everything else in TLS (alerts such as handshake_failure or
 * no_application_protocol, a peer that is not TLS) is 16.
 */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof ClientFailure) return error.exitCode;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return Exit.otherTls;
  if (UNTRUSTED_CHAIN.has(code)) return Exit.untrustedChain;
  if (HOSTNAME_MISMATCH.has(code)) return Exit.hostnameMismatch;
  if (NOT_VALID_NOW.has(code)) return Exit.notValidNow;
  if (code === 'CERT_REVOKED') return Exit.revoked;
  if (PROTOCOL_TOO_OLD.has(code)) return Exit.protocolTooOld;
  if (NETWORK.has(code) || typeof (error as { syscall?: unknown }).syscall === 'string') return Exit.networkOrHttp;
  return Exit.otherTls;
}

import { createHash, timingSafeEqual, type X509Certificate } from 'node:crypto';

/** SHA-256 of the certificate's DER SubjectPublicKeyInfo: what `--pin sha256/<base64>` names. */
export function spkiSha256(cert: X509Certificate): Buffer {
  return createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
}

/**
 * Constant-time comparison, so the time to refuse says nothing about how much of the hash
 * matched. Both are 32-byte SHA-256 values; a length difference (a corrupt session file) is no
 * secret and simply fails.
 */
export function pinMatches(expected: Buffer, actual: Buffer): boolean {
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

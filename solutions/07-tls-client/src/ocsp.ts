// Reads the certificate status out of a stapled OCSP response (RFC 6960):
//
//   OCSPResponse      ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
//   ResponseBytes     ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }
//   BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm, signature, certs [0] OPTIONAL }
//   ResponseData      ::= SEQUENCE { version [0] OPTIONAL, responderID [1]|[2], producedAt GeneralizedTime,
//                                    responses SEQUENCE OF SingleResponse, responseExtensions [1] OPTIONAL }
//   SingleResponse    ::= SEQUENCE { certID CertID, certStatus CertStatus, thisUpdate, ... }
//   CertID            ::= SEQUENCE { hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber INTEGER }
//   CertStatus        ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT UnknownInfo }
//
// The response's signature is not checked, and need not be under this client's policy: no
// staple, an unknown status, or a staple we cannot read are all accepted (soft fail), so a forged
// "good" gains a server nothing it would not get by stapling nothing, and a forged "revoked" only
// gets its own certificate refused.
import { children, DER, DER_CLASS_CONTEXT, DerError, expectTag, readDer, unsignedInteger } from './der.ts';

export type CertStatus = 'good' | 'revoked' | 'unknown';

/** id-pkix-ocsp-basic, 1.3.6.1.5.5.7.48.1.1, as DER content octets. */
const OCSP_BASIC = Buffer.from('2b0601050507300101', 'hex');
const SUCCESSFUL = 0;

function certStatusOf(tag: number): CertStatus {
  // Context-specific tags 0, 1, 2; the constructed bit differs (revoked is a SEQUENCE).
  if ((tag & 0xc0) !== DER_CLASS_CONTEXT) throw new DerError(`certStatus with tag 0x${tag.toString(16)}`);
  switch (tag & 0x1f) {
    case 0:
      return 'good';
    case 1:
      return 'revoked';
    case 2:
      return 'unknown';
    default:
      throw new DerError(`certStatus [${tag & 0x1f}]`);
  }
}

/**
 * The status the response gives the certificate with this serial number: 'revoked' if any
 * single response for it says so, 'good' if one says good, else 'unknown' (no response for it,
 * a responder error such as tryLater, or a response type other than basic).
 * Throws DerError when the bytes are not an OCSP response.
 */
export function stapledCertStatus(response: Buffer, serialNumber: bigint): CertStatus {
  const [status, responseBytes] = children(expectTag(readDer(response), DER.SEQUENCE, 'OCSPResponse'));
  if (unsignedInteger(expectTag(status, DER.ENUMERATED, 'responseStatus')) !== BigInt(SUCCESSFUL)) return 'unknown';
  if (!responseBytes) return 'unknown';
  const [bytes] = children(expectTag(responseBytes, DER_CLASS_CONTEXT | 0x20 | 0, 'responseBytes [0]'));
  const [type, octets] = children(expectTag(bytes, DER.SEQUENCE, 'ResponseBytes'));
  if (!expectTag(type, DER.OID, 'responseType').content.equals(OCSP_BASIC)) return 'unknown';
  const basic = readDer(expectTag(octets, DER.OCTET_STRING, 'response').content);
  const [tbs] = children(expectTag(basic, DER.SEQUENCE, 'BasicOCSPResponse'));
  // version, responderID and the extensions are context-tagged, producedAt a GeneralizedTime:
  // the one SEQUENCE in ResponseData is the list of responses.
  const responses = children(expectTag(tbs, DER.SEQUENCE, 'ResponseData')).find((node) => node.tag === DER.SEQUENCE);
  let verdict: CertStatus = 'unknown';
  for (const single of children(expectTag(responses, DER.SEQUENCE, 'responses'))) {
    const [certId, certStatus] = children(expectTag(single, DER.SEQUENCE, 'SingleResponse'));
    const serial = children(expectTag(certId, DER.SEQUENCE, 'CertID'))[3];
    if (unsignedInteger(expectTag(serial, DER.INTEGER, 'serialNumber')) !== serialNumber) continue;
    if (!certStatus) throw new DerError('SingleResponse without certStatus');
    const said = certStatusOf(certStatus.tag);
    if (said === 'revoked') return 'revoked';
    if (said === 'good') verdict = 'good';
  }
  return verdict;
}

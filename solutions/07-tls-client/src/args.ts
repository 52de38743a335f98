import { isIP } from 'node:net';
import { parseArgs as parseArgv } from 'node:util';

export const USAGE = 'usage: main <https-url> --ca <pem-file> [--alpn p1,p2] [--session <file>] [--pin sha256/<base64-spki-hash>]';

export interface ClientOptions {
  /** As in the URL, without IPv6 brackets: what we resolve, verify and send as SNI. */
  host: string;
  port: number;
  /** Path and query, at least `/`. */
  target: string;
  caFile: string;
  alpn?: string[];
  sessionFile?: string;
  /** The 32-byte SHA-256 of the pinned SubjectPublicKeyInfo. */
  pin?: Buffer;
}

/** Bad usage: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

// HPKP's notation: sha256/ and the base64 of 32 bytes (43 characters and one `=`).
const PIN = /^sha256\/([A-Za-z0-9+/]{43}=)$/;

export function parseArgs(argv: readonly string[]): ClientOptions {
  let parsed;
  try {
    parsed = parseArgv({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        ca: { type: 'string' },
        alpn: { type: 'string' },
        session: { type: 'string' },
        pin: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`expected one URL, got ${positionals.length}`);
  if (!values.ca) throw new UsageError('--ca <pem-file> is required');

  let url: URL;
  try {
    url = new URL(positionals[0]!);
  } catch {
    throw new UsageError(`not a URL: ${positionals[0]}`);
  }
  if (url.protocol !== 'https:') throw new UsageError(`not an https URL: ${positionals[0]}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new UsageError(`no host in ${positionals[0]}`);

  const options: ClientOptions = {
    host,
    port: url.port === '' ? 443 : Number(url.port),
    target: `${url.pathname || '/'}${url.search}`,
    caFile: values.ca,
  };
  if (values.alpn !== undefined) {
    const protocols = values.alpn.split(',');
    // ALPN names are 1 to 255 bytes each.
    if (protocols.some((p) => p.length === 0 || Buffer.byteLength(p) > 255)) throw new UsageError(`bad --alpn list: ${values.alpn}`);
    options.alpn = protocols;
  }
  if (values.session !== undefined) {
    if (values.session === '') throw new UsageError('--session needs a file name');
    options.sessionFile = values.session;
  }
  if (values.pin !== undefined) {
    const match = PIN.exec(values.pin);
    if (!match) throw new UsageError(`bad --pin (expected sha256/<base64 of 32 bytes>): ${values.pin}`);
    options.pin = Buffer.from(match[1]!, 'base64');
  }
  return options;
}

/** SNI carries host names only (RFC 6066); a literal address is verified but not sent. */
export function serverName(host: string): string | undefined {
  return isIP(host) === 0 ? host : undefined;
}

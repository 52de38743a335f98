// The framing protocol and its server. Frame: u32 BE length L (bytes after the length field,
// 1 <= L <= 16 MiB), a type byte, L-1 payload bytes. SUM (0x01) -> 0x81 i64 sum, ECHO (0x02)
// -> 0x82, SHA256 (0x03) -> 0x83 digest; errors are 0xFF frames with a UTF-8 message.
import { createHash } from 'node:crypto';
import net from 'node:net';

export const MAX_LENGTH = 16 * 1024 * 1024;

export const Type = { SUM: 0x01, ECHO: 0x02, SHA256: 0x03, ERROR: 0xff } as const;

export function frame(type: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out.writeUInt32BE(payload.length + 1, 0);
  out[4] = type;
  out.set(payload, 5);
  return out;
}

export const error = (message: string) => frame(Type.ERROR, Buffer.from(message, 'utf8'));

/** What one complete request asks for: a response frame, and whether the connection survives it. */
export interface Answer {
  readonly response: Buffer;
  readonly close: boolean;
}

export function answer(type: number, payload: Buffer): Answer {
  switch (type) {
    case Type.SUM: {
      if (payload.length % 4 !== 0) return { response: error(`SUM payload of ${payload.length} bytes is not a multiple of 4`), close: false };
      // BigInt: sums of many i32 pass 2^53, where a Number stops being exact.
      let sum = 0n;
      for (let offset = 0; offset < payload.length; offset += 4) sum += BigInt(payload.readInt32BE(offset));
      const out = Buffer.allocUnsafe(8);
      out.writeBigInt64BE(BigInt.asIntN(64, sum));
      return { response: frame(0x81, out), close: false };
    }
    case Type.ECHO:
      return { response: frame(0x82, payload), close: false };
    case Type.SHA256:
      return { response: frame(0x83, createHash('sha256').update(payload).digest()), close: false };
    default:
      return { response: error(`unknown type 0x${type.toString(16).padStart(2, '0')}`), close: true };
  }
}

export interface ServerOptions {
  /** How a request is answered (default: `answer`). */
  readonly answer?: (type: number, payload: Buffer) => Answer;
  /** Sends one answer; returns false when the socket's buffer is full (default: socket.write). */
  readonly send?: (socket: net.Socket, response: Buffer, requestType: number) => boolean;
}

/** The server: frames parsed from each connection's byte stream, answered in request order. */
export function createFramingServer(options: ServerOptions = {}): net.Server {
  const respond = options.answer ?? answer;
  const send = options.send ?? ((socket: net.Socket, response: Buffer) => socket.write(response));
  return net.createServer((socket) => {
    // Bytes received but not yet parsed. A frame may arrive in many pieces and one piece may
    // hold many frames, so parse from an accumulating buffer, never per 'data' event.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let closing = false;

    // The current frame's length once its header is in; -1 while waiting for one.
    let expected = -1;

    const take = (n: number): Buffer => {
      const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = all.length > n ? [all.subarray(n)] : [];
      pendingBytes -= n;
      return all.subarray(0, n);
    };
    /** The first four pending bytes, wherever the chunk boundaries fall, without joining everything. */
    const readLength = (): number => {
      const head = Buffer.allocUnsafe(4);
      let filled = 0;
      for (const chunk of pending) {
        filled += chunk.copy(head, filled, 0, Math.min(chunk.length, 4 - filled));
        if (filled === 4) break;
      }
      return head.readUInt32BE(0);
    };

    socket.on('data', (chunk: Buffer) => {
      if (closing) return;
      pending.push(chunk);
      pendingBytes += chunk.length;
      // Answers go out in request order because each is written before the next frame is parsed.
      for (;;) {
        if (expected < 0) {
          if (pendingBytes < 4) return;
          expected = readLength();
          // Refuse a bad length from the header alone: never wait for (or buffer) 4 GiB.
          if (expected === 0 || expected > MAX_LENGTH) {
            closing = true;
            socket.end(error(expected === 0 ? 'frame length 0' : `frame length ${expected} exceeds ${MAX_LENGTH}`));
            return;
          }
        }
        // Joining chunks only once the whole frame is here keeps a 16 MiB frame linear, not quadratic.
        if (pendingBytes < 4 + expected) return;
        const body = take(4 + expected).subarray(4);
        expected = -1;
        const { response, close } = respond(body[0]!, Buffer.from(body.subarray(1)));
        if (close) {
          closing = true;
          socket.end(response);
          return;
        }
        // Backpressure: a client that pipelines without reading is held back by TCP.
        if (!send(socket, response, body[0]!) && !socket.isPaused()) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
      }
    });
    socket.on('error', () => socket.destroy());
  });
}

// The WebSocket server: one event loop; every connection parses its frames as bytes arrive
// (a frame's payload is handled chunk by chunk, so a bad byte of text or a message over the
// limit fails at once, not after the rest arrived), answers pings, reassembles fragments, and
// closes by the book. /echo sends each message back; /room sends it to every member.
import net from 'node:net';
import { closeFrame, CloseCode, frame, isValidCloseCode, Opcode } from './frames.ts';
import { parseHandshake, type Endpoint, type Handshake } from './handshake.ts';
import { Utf8Validator } from './utf8.ts';

/** The largest message, reassembled from its fragments: 1 MiB. Larger: 1009. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** What a room member may have waiting to be sent before it is dropped as too slow. */
export const MEMBER_BACKLOG_BYTES = 4 * 1024 * 1024;
/** After our close frame, how long we wait for the client's before cutting the connection. */
const CLOSE_WAIT_MS = 2_000;

interface FrameHead {
  readonly fin: boolean;
  readonly opcode: number;
  readonly length: number;
  readonly mask: Buffer;
  received: number;
}

export interface ServerOptions {
  /** What serves each upgraded connection (faulty variants extend Connection). */
  readonly connection?: new (socket: net.Socket, server: WebSocketServer, path: Endpoint) => Connection;
  /** How a handshake is read and answered (faulty variants answer it wrong). */
  readonly handshake?: (input: Buffer) => Handshake;
}

/**
 * One upgraded connection. The protected members are the decisions a faulty variant changes
 * (grader/test/fixtures/websocket-server): the limits, when UTF-8 is checked, what a ping and a
 * close are answered with, what a slow reader costs.
 */
export class Connection {
  protected input: Buffer = Buffer.alloc(0);
  private frameHead: FrameHead | undefined;
  /** The data message under way: its opcode and the payload so far (every fragment's). */
  private message: { opcode: number; parts: Buffer[]; bytes: number } | undefined;
  /** A control frame's payload so far (at most 125 bytes). */
  private control: Buffer[] = [];
  protected readonly utf8 = new Utf8Validator();
  private closing = false;

  constructor(
    protected readonly socket: net.Socket,
    protected readonly server: WebSocketServer,
    readonly path: Endpoint,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => socket.resume());
  }

  receive(chunk: Buffer): void {
    if (this.closing) return;
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    this.parse();
  }

  private parse(): void {
    while (!this.closing) {
      if (!this.frameHead) {
        const head = this.readHead();
        if (!head) return;
        this.frameHead = head;
        this.control = [];
        if (head.length === 0) this.endFrame();
        continue;
      }
      if (this.input.length === 0) return;
      const head = this.frameHead;
      const take = Math.min(head.length - head.received, this.input.length);
      const payload = Buffer.from(this.input.subarray(0, take));
      this.input = this.input.subarray(take);
      for (let i = 0; i < payload.length; i++) payload[i]! ^= head.mask[(head.received + i) & 3]!;
      head.received += take;
      if (head.opcode >= 0x8) this.control.push(payload);
      else this.data(payload);
      if (!this.closing && head.received === head.length) this.endFrame();
    }
  }

  /** A frame's head, validated, once all of it is in; undefined while it is not. */
  /** Every client frame must be masked (RFC 6455 §5.1). */
  protected get masksRequired(): boolean {
    return true;
  }

  protected get maxMessageBytes(): number {
    return MAX_MESSAGE_BYTES;
  }

  private readHead(): FrameHead | undefined {
    if (this.input.length < 2) return undefined;
    const b0 = this.input[0]!;
    const b1 = this.input[1]!;
    const short = b1 & 0x7f;
    const masked = (b1 & 0x80) !== 0;
    const headBytes = 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + (masked ? 4 : 0);
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    // What can be judged from the first two bytes is judged at once.
    if (b0 & 0x70) return void this.fail(CloseCode.protocolError, 'a reserved bit is set, and no extension was agreed (RFC 6455 §5.2)');
    if (![0, 1, 2, 8, 9, 10].includes(opcode)) return void this.fail(CloseCode.protocolError, `opcode ${opcode} is reserved (RFC 6455 §5.2)`);
    if (!masked && this.masksRequired) return void this.fail(CloseCode.protocolError, 'a client frame must be masked (RFC 6455 §5.1)');
    if (opcode >= 0x8 && (!fin || short > 125))
      return void this.fail(CloseCode.protocolError, 'a control frame is at most 125 bytes and never fragmented (RFC 6455 §5.5)');
    if (this.input.length < headBytes) return undefined;
    let length = short;
    if (short === 126) length = this.input.readUInt16BE(2);
    else if (short === 127) {
      const big = this.input.readBigUInt64BE(2);
      if (big >> 63n) return void this.fail(CloseCode.protocolError, 'a 64-bit length with its most significant bit set (RFC 6455 §5.2)');
      length = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
    }
    if (opcode === Opcode.continuation && !this.message)
      return void this.fail(CloseCode.protocolError, 'a continuation frame with no message under way (RFC 6455 §5.4)');
    if ((opcode === Opcode.text || opcode === Opcode.binary) && this.message) {
      return void this.fail(CloseCode.protocolError, 'a new message began before the last one ended (RFC 6455 §5.4)');
    }
    if (opcode < 0x8 && (this.message?.bytes ?? 0) + length > this.maxMessageBytes) {
      return void this.fail(CloseCode.tooBig, `a message over ${this.maxMessageBytes} bytes`);
    }
    const mask = masked ? Buffer.from(this.input.subarray(headBytes - 4, headBytes)) : Buffer.alloc(4);
    this.input = this.input.subarray(headBytes);
    if (opcode === Opcode.text || opcode === Opcode.binary) {
      this.message = { opcode, parts: [], bytes: 0 };
      this.utf8.reset();
    }
    return { fin, opcode, length, mask, received: 0 };
  }

  /** Payload bytes of a data frame, unmasked, as they arrive. */
  protected data(payload: Buffer): void {
    const message = this.message!;
    message.parts.push(payload);
    message.bytes += payload.length;
    if (message.opcode === Opcode.text && !this.checkText(payload)) this.fail(CloseCode.invalidData, 'text that is not UTF-8 (RFC 6455 §8.1)');
  }

  /** More bytes of a text message: false once they cannot be UTF-8, checked as they arrive. */
  protected checkText(payload: Buffer): boolean {
    return this.utf8.push(payload);
  }

  /** The end of a data frame (`fin`: the end of its message too). */
  protected frameEnded(_opcode: number, _fin: boolean): void {}

  private endFrame(): void {
    const head = this.frameHead!;
    this.frameHead = undefined;
    if (head.opcode >= 0x8) return this.controlFrame(head.opcode, Buffer.concat(this.control));
    this.frameEnded(this.message!.opcode, head.fin);
    if (this.closing || !head.fin) return;
    const message = this.message!;
    this.message = undefined;
    if (message.opcode === Opcode.text && !this.utf8.complete) return this.fail(CloseCode.invalidData, 'text that ends inside a code point (RFC 6455 §8.1)');
    this.messageEnded(message.opcode, Buffer.concat(message.parts, message.bytes));
  }

  /** A whole message: to the echo or the room. */
  protected messageEnded(opcode: number, payload: Buffer): void {
    this.server.deliver(this, opcode, payload);
  }

  protected controlFrame(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.ping) return this.send(frame(Opcode.pong, payload));
    if (opcode === Opcode.pong) return; // unsolicited or not, nothing to do (RFC 6455 §5.5.3)
    // Close (RFC 6455 §5.5.1, §7.4): echo the code, then close TCP ourselves.
    if (payload.length === 0) return this.closeWith(closeFrame());
    if (payload.length === 1) return this.fail(CloseCode.protocolError, 'a close frame with a 1-byte body');
    const code = payload.readUInt16BE(0);
    if (!isValidCloseCode(code)) return this.fail(CloseCode.protocolError, `close code ${code} may not be sent`);
    const reason = payload.subarray(2);
    const validator = new Utf8Validator();
    if (!validator.push(reason) || !validator.complete) return this.fail(CloseCode.invalidData, 'a close reason that is not UTF-8');
    this.closeWith(this.closeReply(code, reason));
  }

  /** The close frame answering the client's: its code echoed. */
  protected closeReply(code: number, _reason: Buffer): Buffer {
    return closeFrame(code);
  }

  /** Sends a message or control frame; a room member that falls too far behind is dropped. */
  send(data: Buffer): void {
    if (this.closing || this.socket.destroyed) return;
    if (!this.socket.write(data)) {
      // Echo: stop reading until the client has read our answers (TCP then holds it back).
      if (this.path === '/echo') this.socket.pause();
      else if (this.socket.writableLength > MEMBER_BACKLOG_BYTES) this.socket.destroy();
    }
  }

  /** Fail the WebSocket connection (RFC 6455 §7.1.7): our close with the reason's code, then close. */
  protected fail(code: number, why: string): void {
    this.closeWith(closeFrame(code, Buffer.from(why.slice(0, 100))));
  }

  private closeWith(close: Buffer): void {
    if (this.closing) return;
    this.send(close);
    this.closing = true;
    this.server.leave(this);
    // The server closes TCP first (RFC 6455 §7.1.1); reading on avoids a reset that could
    // destroy our close frame in flight.
    this.socket.end();
    this.socket.resume();
    setTimeout(() => this.socket.destroy(), CLOSE_WAIT_MS).unref();
  }
}

export class WebSocketServer {
  private readonly room = new Set<Connection>();
  private readonly server: net.Server;

  constructor(options: ServerOptions = {}) {
    const Serve = options.connection ?? Connection;
    const readHandshake = options.handshake ?? parseHandshake;
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      socket.on('error', () => socket.destroy());
      let head: Buffer = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const handshake = readHandshake(head);
        if (!handshake) return;
        socket.off('data', onData);
        if (handshake.kind === 'refuse') {
          socket.end(handshake.response);
          socket.resume();
          return;
        }
        socket.write(handshake.response);
        const connection = new Serve(socket, this, handshake.path);
        socket.on('close', () => this.leave(connection));
        if (handshake.path === '/room') this.room.add(connection);
        // Frames sent right behind the handshake, in the same segment.
        const rest = head.subarray(handshake.headBytes);
        if (rest.length > 0) connection.receive(rest);
      };
      socket.on('data', onData);
    });
  }

  deliver(from: Connection, opcode: number, payload: Buffer): void {
    const data = frame(opcode, payload);
    if (from.path === '/echo') return from.send(data);
    // One loop, one order: every member gets the room's messages in the order they arrived here.
    for (const member of this.room) member.send(data);
  }

  leave(connection: Connection): void {
    this.room.delete(connection);
  }

  listen(port: number, callback?: () => void): this {
    this.server.listen({ port, host: '0.0.0.0', backlog: 1024 }, callback);
    return this;
  }
}

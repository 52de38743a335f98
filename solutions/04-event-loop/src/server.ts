// The event-loop server: one process, one thread running JavaScript, every connection a small
// state machine driven by events (bytes in, a timer fired, the socket drained). Nothing here
// waits: a SLEEP is a timer, a STREAM writes a chunk and comes back when the kernel took it.
import net from 'node:net';
import { MAX_LINE_BYTES, parseCommand, STREAM_CHUNK_BYTES, streamChunk, type Command } from './protocol.ts';

/** Unparsed input one connection may hold; past it we stop reading and TCP holds the client back. */
const INPUT_LIMIT_BYTES = 2 * MAX_LINE_BYTES;
/** After our last byte, how long a closing connection waits for the client's FIN before it is cut. */
const LINGER_MS = 2_000;
const NEWLINE = Buffer.from('\n');

export interface ServerOptions {
  /** A connection with no complete line and nothing pending for this long is closed. */
  readonly idleTimeoutMs: number;
  /** What serves each connection (faulty variants extend Connection). */
  readonly connection?: ConnectionClass;
}

export type ConnectionClass = new (socket: net.Socket, server: EventLoopServer) => Connection;

/**
 * One client. Lines are answered strictly one at a time, in order: while a command is busy
 * (a SLEEP's timer, a STREAM, a reply waiting for 'drain') later lines wait in `input`.
 */
export class Connection {
  private input: Buffer[] = [];
  private inputBytes = 0;
  /** Chunks at the front of `input` already searched for a \n without finding one. */
  private searched = 0;
  protected busy = false;
  private closing = false;
  private peerEnded = false;
  private sleepTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    protected readonly socket: net.Socket,
    protected readonly server: EventLoopServer,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // The client's FIN: it still gets the answers to the lines it sent, then we close.
    socket.on('end', () => {
      this.peerEnded = true;
      this.pump();
    });
    // A reset or broken pipe ends this connection only; 'close' follows.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(this.sleepTimer);
      this.disarmIdle();
      server.forget(this);
    });
    this.pump(); // nothing to do yet: starts the idle timer
  }

  protected receive(chunk: Buffer): void {
    if (this.closing) return; // lingering after our last byte: discard
    this.input.push(chunk);
    this.inputBytes += chunk.length;
    this.pump();
  }

  /** Answers the complete lines there are, in order, until one is busy; then decides what waits. */
  protected pump(): void {
    while (!this.busy && !this.closing) {
      const line = this.takeLine();
      if (!line) break;
      // A complete line is activity; bytes of an unfinished one are not (slowloris).
      this.disarmIdle();
      if (line.length > MAX_LINE_BYTES) return this.close('ERR line too long\n');
      this.execute(parseCommand(line.at(-1) === 0x0d ? line.subarray(0, -1) : line));
    }
    if (this.closing) return;
    if (!this.busy) {
      // Refuse a long line as soon as it is too long: never wait for (or buffer) the rest.
      if (this.inputBytes > MAX_LINE_BYTES) return this.close('ERR line too long\n');
      if (this.peerEnded || this.server.draining) return this.close();
      this.armIdle();
    }
    // Backpressure on input: a client that pipelines faster than we answer is held back by TCP.
    if (this.server.draining || this.inputBytes > INPUT_LIMIT_BYTES) this.socket.pause();
    else this.socket.resume();
  }

  /** The next complete line (with a \r, if any; without its \n), or undefined. */
  private takeLine(): Buffer | undefined {
    for (; this.searched < this.input.length; this.searched++) {
      const chunk = this.input[this.searched]!;
      const newline = chunk.indexOf(0x0a);
      if (newline < 0) continue;
      const parts = this.input.splice(0, this.searched);
      parts.push(chunk.subarray(0, newline));
      if (newline + 1 < chunk.length) this.input[0] = chunk.subarray(newline + 1);
      else this.input.shift();
      this.searched = 0;
      const line = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.inputBytes -= line.length + 1;
      return line;
    }
    return undefined;
  }

  protected execute(command: Command): void {
    switch (command.op) {
      case 'echo':
        return this.reply(Buffer.concat([command.text, NEWLINE]));
      case 'stats':
        return this.reply(`conns=${this.server.connections.size} total=${this.server.accepted}\n`);
      case 'error':
        return this.reply(`ERR ${command.message}\n`);
      case 'quit':
        return this.close('BYE\n');
      case 'sleep':
        return this.sleep(command.ms);
      case 'stream':
        return this.stream(command.bytes);
    }
  }

  /** Sends a reply. If the socket's buffer is full the client is not reading: the next line waits for 'drain'. */
  protected reply(data: string | Buffer): void {
    if (this.socket.write(data)) return;
    this.busy = true;
    this.socket.once('drain', () => this.done());
  }

  /** The busy command finished: go on with the next line. */
  protected done(): void {
    this.busy = false;
    this.pump();
  }

  /** A timer, not a wait: the loop serves everyone else meanwhile. */
  protected sleep(ms: number): void {
    this.busy = true;
    this.sleepTimer = setTimeout(() => {
      this.sleepTimer = undefined;
      this.busy = false;
      this.reply(`SLEPT ${ms}\n`);
      this.pump();
    }, ms);
  }

  /**
   * Produces the stream only as fast as the client reads it: one chunk, then wait for 'drain'
   * (the kernel took it all). A client that stops reading stops the stream, and memory stays
   * flat; setImmediate lets the loop serve other connections between chunks.
   */
  protected stream(total: number): void {
    this.busy = true;
    let offset = 0;
    const more = (): void => {
      if (this.socket.destroyed) return;
      while (offset < total) {
        const chunk = streamChunk(offset, Math.min(STREAM_CHUNK_BYTES, total - offset));
        offset += chunk.length;
        if (!this.socket.write(chunk)) {
          this.socket.once('drain', () => setImmediate(more));
          return;
        }
      }
      this.done();
    };
    more();
  }

  /** The server is shutting down: answer the lines already here, then close. */
  drain(): void {
    this.pump();
  }

  /**
   * Sends `last`, closes our side, and keeps reading (discarding) until the client closes too:
   * closing with unread input would send a reset, which can destroy `last` before the client reads it.
   */
  protected close(last?: string): void {
    if (this.closing) return;
    this.closing = true;
    this.disarmIdle();
    clearTimeout(this.sleepTimer);
    this.input = [];
    this.inputBytes = 0;
    if (last) this.socket.end(last);
    else this.socket.end();
    this.socket.resume();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  private armIdle(): void {
    if (this.idleTimer || this.closing) return; // already counting: more bytes do not restart it
    this.idleTimer = setTimeout(() => this.idleTimeout(), this.server.options.idleTimeoutMs);
  }

  protected disarmIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private idleTimeout(): void {
    this.idleTimer = undefined;
    // Output still on its way out is not idleness: count again once it is gone.
    if (this.socket.writableLength > 0) {
      this.socket.once('drain', () => this.pump());
      return;
    }
    this.close('ERR idle timeout\n');
  }
}

export class EventLoopServer {
  /** Open connections (a closing one counts until its socket is gone). */
  readonly connections = new Set<Connection>();
  /** Connections accepted since start. */
  accepted = 0;
  draining = false;
  private readonly listener: net.Server;
  private allClosed: (() => void) | undefined;

  constructor(readonly options: ServerOptions) {
    const Kind = options.connection ?? Connection;
    // allowHalfOpen: a client's FIN must not close our side before its answers are out.
    // noDelay: small answers leave at once instead of waiting for Nagle's algorithm.
    this.listener = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      this.accepted++;
      this.connections.add(new Kind(socket, this));
    });
  }

  listen(port: number, host = '0.0.0.0'): Promise<void> {
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen({ port, host, backlog: 4096 }, () => resolve());
    });
  }

  forget(connection: Connection): void {
    this.connections.delete(connection);
    if (this.draining && this.connections.size === 0) this.allClosed?.();
  }

  /**
   * Stops accepting, lets every connection answer the lines it already sent, and resolves
   * once all are closed, or after `graceMs` whatever is left.
   */
  shutdown(graceMs: number): Promise<void> {
    this.draining = true;
    this.listener.close();
    for (const connection of this.connections) connection.drain();
    return new Promise((resolve) => {
      if (this.connections.size === 0) return resolve();
      this.allClosed = resolve;
      setTimeout(resolve, graceMs);
    });
  }
}

/** Listens on $PORT with $IDLE_TIMEOUT_MS (default 30 s); on SIGTERM drains and exits 0 within 2 s. */
export async function serve(connection: ConnectionClass = Connection): Promise<EventLoopServer> {
  const port = Number(process.env.PORT ?? 7000);
  const idleTimeoutMs = Number(process.env.IDLE_TIMEOUT_MS ?? 30_000);
  const server = new EventLoopServer({ idleTimeoutMs, connection });
  await server.listen(port);
  console.log(`event-loop server listening on ${port} (idle timeout ${idleTimeoutMs} ms)`);
  // In a container the server is PID 1, which ignores SIGTERM unless it handles it.
  process.once('SIGTERM', () => void server.shutdown(1_500).then(() => process.exit(0)));
  return server;
}

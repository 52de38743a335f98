import net from 'node:net';
import type { Endpoint } from '../runtime/runtime.ts';
import type { Transcript } from './transcript.ts';
import { Wakeups } from './wakeups.ts';

export const DEFAULT_IO_TIMEOUT_MS = 5_000;

export interface ConnectOptions {
  readonly timeoutMs?: number;
  /** Label in the transcript; defaults to c1, c2... */
  readonly label?: string;
  /** Leave Nagle on (default: off, so small writes leave as small segments). */
  readonly nagle?: boolean;
}

/** A test's failure to get what it expected from the submission, with the numbers in it. */
export class ExpectationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpectationError';
  }
}

/**
 * A raw TCP client for tests: explicit reads of exact byte counts with timeouts,
 * half-close, reset, pausing to exercise the peer's backpressure, and a transcript.
 */
export class TcpConnection implements AsyncDisposable {
  private readonly chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private ended = false;
  private failure: Error | undefined;
  /** Everyone waiting for data, EOF or an error. */
  private readonly wakeups = new Wakeups();
  private consumer: ((chunk: Buffer) => void) | undefined;
  private readonly closed: Promise<void>;
  bytesSent = 0;
  bytesReceived = 0;

  private constructor(
    private readonly socket: net.Socket,
    readonly label: string,
    private readonly transcript: Transcript,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      transcript.record(label, 'received', chunk);
      if (this.consumer) this.consumer(chunk);
      else {
        this.chunks.push(chunk);
        this.bufferedBytes += chunk.length;
      }
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      transcript.record(label, 'note', 'server closed its side (EOF)');
      this.wake();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.failure ??= error;
      transcript.record(label, 'note', `error: ${error.code ?? error.message}`);
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static open(endpoint: Endpoint, transcript: Transcript, options: ConnectOptions & { label: string }): Promise<TcpConnection> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_IO_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: !options.nagle });
      const timer = setTimeout(() => {
        socket.destroy();
        transcript.record(options.label, 'note', `connect timed out after ${timeoutMs} ms`);
        reject(new ExpectationError(`could not connect to ${endpoint.host}:${endpoint.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        transcript.record(options.label, 'note', `connect failed: ${error.code ?? error.message}`);
        reject(new ExpectationError(`could not connect to ${endpoint.host}:${endpoint.port}: ${error.code ?? error.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        transcript.record(options.label, 'note', `connected to ${endpoint.host}:${endpoint.port}`);
        resolve(new TcpConnection(socket, options.label, transcript));
      });
    });
  }

  private wake(): void {
    this.wakeups.wake();
  }

  /** Resolves once the data has been handed to the kernel. */
  write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    this.bytesSent += bytes.length;
    this.transcript.record(this.label, 'sent', bytes);
    const written = new Promise<void>((resolve, reject) => {
      this.socket.write(bytes, (error) => (error ? reject(error) : resolve()));
    });
    // A write still pending when the test closes the socket rejects; that is not a failure
    // unless someone awaits it.
    written.catch(() => {});
    return written;
  }

  /** Writes `data` split at the given sizes (cycled), one write per piece. */
  async writeInPieces(data: Uint8Array, sizes: readonly number[]): Promise<void> {
    let offset = 0;
    for (let i = 0; offset < data.length; i++) {
      const size = Math.max(1, sizes[i % sizes.length]!);
      await this.write(data.subarray(offset, offset + size));
      offset += size;
    }
  }

  /** Half-close: no more data from us; the server may still send. */
  end(): Promise<void> {
    this.transcript.record(this.label, 'note', 'client shut down its write side (FIN)');
    return new Promise((resolve) => this.socket.end(() => resolve()));
  }

  /** Abort with a TCP RST. */
  reset(): void {
    this.transcript.record(this.label, 'note', 'client reset the connection (RST)');
    this.socket.resetAndDestroy();
  }

  /** Stop reading: the kernel's receive buffer fills and TCP flow control pushes back on the server. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Waits until `predicate` holds, or fails with `describe()` after the timeout. */
  private async waitFor(predicate: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.failure) throw new ExpectationError(`${describe()}: connection failed with ${(this.failure as NodeJS.ErrnoException).code ?? this.failure.message}`);
      if (this.ended) throw new ExpectationError(`${describe()}: the server closed the connection`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ExpectationError(`${describe()}: timed out after ${timeoutMs} ms`);
      await this.wakeups.next(remaining);
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks.length = 0;
    if (rest.length > 0) this.chunks.push(rest);
    this.bufferedBytes = rest.length;
    return head;
  }

  /** Exactly `n` bytes, or an error that says how many arrived. */
  async read(n: number, timeoutMs = DEFAULT_IO_TIMEOUT_MS): Promise<Buffer> {
    await this.waitFor(
      () => this.bufferedBytes >= n,
      timeoutMs,
      () => `expected ${n} bytes from the server, got ${this.bufferedBytes}`,
    );
    return this.take(n);
  }

  /**
   * Streams `n` bytes to `onChunk` without keeping them (for transfers of many MiB).
   * `idleTimeoutMs` bounds the wait for each next chunk, not the whole transfer.
   */
  async consume(n: number, onChunk: (chunk: Buffer) => void, idleTimeoutMs = DEFAULT_IO_TIMEOUT_MS): Promise<void> {
    let received = 0;
    const feed = (chunk: Buffer) => {
      const wanted = Math.min(chunk.length, n - received);
      if (wanted > 0) onChunk(chunk.subarray(0, wanted));
      received += wanted;
      if (wanted < chunk.length) {
        this.chunks.push(chunk.subarray(wanted));
        this.bufferedBytes += chunk.length - wanted;
      }
    };
    if (this.bufferedBytes > 0) feed(this.take(this.bufferedBytes));
    this.consumer = feed;
    try {
      while (received < n) {
        const before = received;
        await this.waitFor(
          () => received > before || received >= n,
          idleTimeoutMs,
          () => `expected ${n} bytes from the server, got ${received} (stalled)`,
        );
      }
    } finally {
      this.consumer = undefined;
    }
  }

  /**
   * The next line, without its `\n` (and without a `\r` before it), decoded as UTF-8. Fails if
   * none arrives in time, or if more than `maxBytes` arrive without one.
   */
  async readLine(timeoutMs = DEFAULT_IO_TIMEOUT_MS, maxBytes = 1024 * 1024): Promise<string> {
    let newline = -1;
    const found = () => {
      if (this.chunks.length > 1) this.chunks.splice(0, this.chunks.length, Buffer.concat(this.chunks));
      newline = this.chunks[0]?.indexOf(0x0a) ?? -1;
      return newline >= 0 || this.bufferedBytes > maxBytes;
    };
    await this.waitFor(found, timeoutMs, () => `expected a line from the server, got ${this.bufferedBytes === 0 ? 'nothing' : JSON.stringify(this.peekText(200))}`);
    if (newline < 0) throw new ExpectationError(`expected a line from the server, got ${this.bufferedBytes} bytes without a \\n`);
    const line = this.take(newline + 1).subarray(0, newline);
    return line.toString('utf8').replace(/\r$/, '');
  }

  /**
   * Waits until the server ends the connection (EOF or reset), discarding whatever it sends
   * meanwhile; fails if the connection is still open after `timeoutMs`.
   */
  async expectClosed(timeoutMs = DEFAULT_IO_TIMEOUT_MS): Promise<'eof' | 'reset'> {
    this.take(this.bufferedBytes);
    this.consumer = () => {};
    this.socket.resume();
    try {
      const deadline = Date.now() + timeoutMs;
      while (!this.ended && !this.failure) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new ExpectationError(`expected the server to close the connection within ${timeoutMs} ms; it is still open`);
        await this.wakeups.next(remaining);
      }
      return this.ended ? 'eof' : 'reset';
    } finally {
      this.consumer = undefined;
    }
  }

  /** The first bytes not read yet, as text (for failure messages). */
  private peekText(maxBytes: number): string {
    return Buffer.concat(this.chunks).subarray(0, maxBytes).toString('utf8');
  }

  /** Everything until the server closes its side; fails if it sends more than `maxBytes`. */
  async readToEnd(timeoutMs = DEFAULT_IO_TIMEOUT_MS, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (this.failure) throw new ExpectationError(`expected the server to close the connection, but it failed with ${(this.failure as NodeJS.ErrnoException).code ?? this.failure.message} after ${this.bufferedBytes} bytes`);
      if (this.bufferedBytes > maxBytes) throw new ExpectationError(`server sent more than ${maxBytes} bytes without closing`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ExpectationError(`expected the server to close the connection within ${timeoutMs} ms; it did not (got ${this.bufferedBytes} bytes so far)`);
      await this.wakeups.next(remaining);
    }
    return this.take(this.bufferedBytes);
  }

  /** True once the server sent EOF. */
  get serverEnded(): boolean {
    return this.ended;
  }

  /** Bytes the socket accepted from write() but the kernel has not taken yet. */
  get pendingWriteBytes(): number {
    return this.socket.writableLength;
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

import net from 'node:net';
import type { Endpoint } from '../runtime/runtime.ts';
import type { Transcript } from './transcript.ts';
import { Wakeups } from './wakeups.ts';

export const DEFAULT_IO_TIMEOUT_MS = 5_000;

/**
 * Unread bytes one connection holds before it stops reading: past this, TCP flow control holds
 * the server back, so a server that floods cannot make the test worker buffer without end. A
 * read that asks for more (read(n), readToEnd's maxBytes) is let in up to what it asked for.
 */
export const CONNECTION_BUFFER_BYTES = 16 * 1024 * 1024;
/** Unread bytes all the connections (and UDP sockets) of one test hold, at most, beyond what reads asked for. */
export const TEST_BUFFER_BYTES = 64 * 1024 * 1024;

const MiB = 1024 * 1024;
/** "16 MiB (16777216 bytes)": both, so a learner can compare with their own counters. */
export const describeBytes = (bytes: number) => (bytes >= MiB && bytes % MiB === 0 ? `${bytes / MiB} MiB (${bytes} bytes)` : `${bytes} bytes`);

/** What the connections of one test hold unread, together. */
export class ReceiveBudget {
  bufferedBytes = 0;
  constructor(readonly limitBytes = TEST_BUFFER_BYTES) {}
  get exhausted(): boolean {
    return this.bufferedBytes >= this.limitBytes;
  }
}

// One budget per test: every test has its own transcript, and the transcript is what each
// connection of a test is given (a WeakMap, so a finished test's budget goes with it).
const budgets = new WeakMap<Transcript, ReceiveBudget>();
export function receiveBudgetOf(transcript: Transcript): ReceiveBudget {
  let budget = budgets.get(transcript);
  if (!budget) budgets.set(transcript, (budget = new ReceiveBudget()));
  return budget;
}

export interface ConnectOptions {
  readonly timeoutMs?: number;
  /** Label in the transcript; defaults to c1, c2... */
  readonly label?: string;
  /** Leave Nagle on (default: off, so small writes leave as small segments). */
  readonly nagle?: boolean;
  /** How long reads wait when a test names no timeout (the run's; DEFAULT_IO_TIMEOUT_MS unless set). */
  readonly ioTimeoutMs?: number;
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
  /** What the read under way needs buffered (read(n): n); the hold never stops short of it. */
  private neededBytes = 0;
  /** The test asked for pause(). */
  private pausedByTest = false;
  /** The harness stopped reading: too much unread (CONNECTION_BUFFER_BYTES, the test's budget). */
  private held = false;
  private readonly budget: ReceiveBudget;
  bytesSent = 0;
  bytesReceived = 0;

  private constructor(
    private readonly socket: net.Socket,
    readonly label: string,
    private readonly transcript: Transcript,
    private readonly bufferLimitBytes = CONNECTION_BUFFER_BYTES,
    private readonly ioTimeoutMs = DEFAULT_IO_TIMEOUT_MS,
  ) {
    this.budget = receiveBudgetOf(transcript);
    socket.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      transcript.record(label, 'received', chunk);
      if (this.consumer) this.consumer(chunk);
      else this.buffer(chunk);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      transcript.serverHungUp = true;
      transcript.record(label, 'note', 'server closed its side (EOF)');
      this.wake();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.failure ??= error;
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') transcript.serverHungUp = true;
      transcript.record(label, 'note', `error: ${error.code ?? error.message}`);
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static open(endpoint: Endpoint, transcript: Transcript, options: ConnectOptions & { label: string; bufferLimitBytes?: number }): Promise<TcpConnection> {
    const timeoutMs = options.timeoutMs ?? options.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: !options.nagle });
      const timer = setTimeout(() => {
        socket.destroy();
        transcript.record(options.label, 'note', `connect timed out after ${timeoutMs} ms`);
        reject(new ExpectationError(`could not connect to ${endpoint.host}:${endpoint.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        // Refused: nothing listens any more, perhaps because the server died.
        if (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET') transcript.serverHungUp = true;
        transcript.record(options.label, 'note', `connect failed: ${error.code ?? error.message}`);
        reject(new ExpectationError(`could not connect to ${endpoint.host}:${endpoint.port}: ${error.code ?? error.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        transcript.record(options.label, 'note', `connected to ${endpoint.host}:${endpoint.port}`);
        resolve(new TcpConnection(socket, options.label, transcript, options.bufferLimitBytes, options.ioTimeoutMs));
      });
    });
  }

  private wake(): void {
    this.wakeups.wake();
  }

  private buffer(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    this.budget.bufferedBytes += chunk.length;
    this.updateFlow();
  }

  /** Forgets `n` buffered bytes (read, discarded or closed). */
  private release(n: number): void {
    this.bufferedBytes -= n;
    this.budget.bufferedBytes -= n;
    this.updateFlow();
  }

  /**
   * Reads only while what is unread is under the connection's limit and the test's budget, or
   * under what the read under way asked for; otherwise lets TCP hold the server back.
   */
  private updateFlow(): void {
    const hold = this.bufferedBytes >= this.neededBytes && (this.bufferedBytes >= this.bufferLimitBytes || this.budget.exhausted);
    if (hold && !this.held) {
      this.held = true;
      this.transcript.record(
        this.label,
        'note',
        `stopped reading with ${describeBytes(this.bufferedBytes)} unread (the test reads at most ${describeBytes(this.bufferLimitBytes)} per connection and ${describeBytes(this.budget.limitBytes)} per test ahead of what it asked for)`,
      );
    } else if (!hold && this.held) this.held = false;
    if (this.held || this.pausedByTest) this.socket.pause();
    else this.socket.resume();
  }

  /** Lets the read under way have `n` bytes buffered, whatever the limits. */
  private need(n: number): void {
    this.neededBytes = n;
    this.updateFlow();
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
  writeInPieces(data: Uint8Array, sizes: readonly number[]): Promise<void> {
    const writing = (async () => {
      let offset = 0;
      for (let i = 0; offset < data.length; i++) {
        const size = Math.max(1, sizes[i % sizes.length]!);
        await this.write(data.subarray(offset, offset + size));
        offset += size;
      }
    })();
    // As write(): a test that failed before awaiting it (the answer was wrong while it still
    // wrote) closes the socket under it; that rejection is no unhandled error, and so no grader
    // error (a CI run graded framing's one-frame-per-read variant exit 2 by it).
    writing.catch(() => {});
    return writing;
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
    this.pausedByTest = true;
    this.updateFlow();
  }

  resume(): void {
    this.pausedByTest = false;
    this.updateFlow();
  }

  /** Waits until `predicate` holds, or fails with `describe()` after the timeout. */
  private async waitFor(predicate: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.failure)
        throw new ExpectationError(`${describe()}: connection failed with ${(this.failure as NodeJS.ErrnoException).code ?? this.failure.message}`);
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
    this.release(head.length);
    return head;
  }

  /** Exactly `n` bytes, or an error that says how many arrived. */
  async read(n: number, timeoutMs = this.ioTimeoutMs): Promise<Buffer> {
    this.need(n);
    try {
      await this.waitFor(
        () => this.bufferedBytes >= n,
        timeoutMs,
        () => `expected ${n} bytes from the server, got ${this.bufferedBytes}`,
      );
    } finally {
      this.need(0);
    }
    return this.take(n);
  }

  /**
   * Streams `n` bytes to `onChunk` without keeping them (for transfers of many MiB).
   * `idleTimeoutMs` bounds the wait for each next chunk, not the whole transfer.
   */
  async consume(n: number, onChunk: (chunk: Buffer) => void, idleTimeoutMs = this.ioTimeoutMs): Promise<void> {
    let received = 0;
    const feed = (chunk: Buffer) => {
      const wanted = Math.min(chunk.length, n - received);
      if (wanted > 0) onChunk(chunk.subarray(0, wanted));
      received += wanted;
      if (wanted < chunk.length) this.buffer(chunk.subarray(wanted));
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
  async readLine(timeoutMs = this.ioTimeoutMs, maxBytes = 1024 * 1024): Promise<string> {
    let newline = -1;
    const found = () => {
      if (this.chunks.length > 1) this.chunks.splice(0, this.chunks.length, Buffer.concat(this.chunks));
      newline = this.chunks[0]?.indexOf(0x0a) ?? -1;
      return newline >= 0 || this.bufferedBytes > maxBytes;
    };
    this.need(maxBytes + 1);
    try {
      await this.waitFor(
        found,
        timeoutMs,
        () => `expected a line from the server, got ${this.bufferedBytes === 0 ? 'nothing' : JSON.stringify(this.peekText(200))}`,
      );
    } finally {
      this.need(0);
    }
    if (newline < 0) throw new ExpectationError(`expected a line from the server, got ${this.bufferedBytes} bytes without a \\n`);
    const line = this.take(newline + 1).subarray(0, newline);
    return line.toString('utf8').replace(/\r$/, '');
  }

  /**
   * Waits until the server ends the connection (EOF or reset), discarding whatever it sends
   * meanwhile; fails if the connection is still open after `timeoutMs`.
   */
  async expectClosed(timeoutMs = this.ioTimeoutMs): Promise<'eof' | 'reset'> {
    this.take(this.bufferedBytes);
    this.consumer = () => {};
    this.pausedByTest = false;
    this.updateFlow();
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

  /**
   * Everything until the server closes its side. Fails once the server sent more than
   * `maxBytes` without closing: past that it stops reading, so a flood costs at most that.
   */
  async readToEnd(timeoutMs = this.ioTimeoutMs, maxBytes = CONNECTION_BUFFER_BYTES): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    this.need(maxBytes + 1);
    try {
      while (!this.ended) {
        if (this.failure)
          throw new ExpectationError(
            `expected the server to close the connection, but it failed with ${(this.failure as NodeJS.ErrnoException).code ?? this.failure.message} after ${this.bufferedBytes} bytes`,
          );
        if (this.bufferedBytes > maxBytes)
          throw new ExpectationError(
            `your server sent more than ${describeBytes(maxBytes)} without closing the connection; the test expected it to close well before that`,
          );
        const remaining = deadline - Date.now();
        if (remaining <= 0)
          throw new ExpectationError(`expected the server to close the connection within ${timeoutMs} ms; it did not (got ${this.bufferedBytes} bytes so far)`);
        await this.wakeups.next(remaining);
      }
    } finally {
      this.need(0);
    }
    if (this.bufferedBytes > maxBytes)
      throw new ExpectationError(`your server sent more than ${describeBytes(maxBytes)} before closing the connection; the test expected at most that`);
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

  /** Bytes received and not read yet: at most the larger of the limits and what a read asked for. */
  get unreadBytes(): number {
    return this.bufferedBytes;
  }

  close(): Promise<void> {
    this.socket.destroy();
    if (this.bufferedBytes > 0) {
      // Unread bytes of a closed connection leave the test's budget to the others.
      this.chunks.length = 0;
      this.budget.bufferedBytes -= this.bufferedBytes;
      this.bufferedBytes = 0;
    }
    return this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

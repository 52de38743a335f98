import dgram from 'node:dgram';
import { once } from 'node:events';
import type { Endpoint } from '../runtime/runtime.ts';
import { CONNECTION_BUFFER_BYTES, DEFAULT_IO_TIMEOUT_MS, describeBytes, ExpectationError, receiveBudgetOf, type ReceiveBudget } from './tcp.ts';
import type { Transcript } from './transcript.ts';
import { Wakeups } from './wakeups.ts';

export interface UdpOptions {
  /** Label in the transcript; defaults to u1, u2... */
  readonly label?: string;
  /** How long receives wait when a test names no timeout (the run's; DEFAULT_IO_TIMEOUT_MS unless set). */
  readonly ioTimeoutMs?: number;
}

/**
 * Unread datagrams one socket keeps; past this (or CONNECTION_BUFFER_BYTES, or the test's budget)
 * what arrives is dropped, as a full socket buffer drops it: UDP cannot push back on a sender.
 */
export const SOCKET_QUEUE_DATAGRAMS = 16_384;

/**
 * A UDP client for tests, connected to the submission so that only its datagrams arrive:
 * explicit receives with timeouts, a queue of what arrived, counters and a transcript.
 */
export class UdpSocket implements AsyncDisposable {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private readonly budget: ReceiveBudget;
  private readonly wakeups = new Wakeups();
  private closed = false;
  datagramsSent = 0;
  datagramsReceived = 0;
  /** Datagrams that arrived while the queue was full, and were dropped. */
  datagramsDropped = 0;
  bytesSent = 0;
  bytesReceived = 0;
  /** Errors the kernel reported (an ICMP port unreachable shows up as ECONNREFUSED). */
  readonly errors: string[] = [];

  private constructor(
    private readonly socket: dgram.Socket,
    readonly label: string,
    private readonly transcript: Transcript,
    private readonly queueLimitBytes = CONNECTION_BUFFER_BYTES,
    private readonly ioTimeoutMs = DEFAULT_IO_TIMEOUT_MS,
  ) {
    this.budget = receiveBudgetOf(transcript);
    socket.on('message', (datagram: Buffer) => {
      this.datagramsReceived++;
      this.bytesReceived += datagram.length;
      if (this.queue.length >= SOCKET_QUEUE_DATAGRAMS || this.queuedBytes + datagram.length > this.queueLimitBytes || this.budget.exhausted) {
        // Said once: a flood would otherwise fill the transcript with nothing but drops.
        if (this.datagramsDropped++ === 0) {
          transcript.record(
            label,
            'note',
            `dropping datagrams: ${this.queue.length} (${describeBytes(this.queuedBytes)}) unread; the test keeps at most ${SOCKET_QUEUE_DATAGRAMS} datagrams or ${describeBytes(this.queueLimitBytes)} per socket, ${describeBytes(this.budget.limitBytes)} per test`,
          );
        }
        return;
      }
      transcript.record(label, 'received', datagram);
      this.queue.push(datagram);
      this.queuedBytes += datagram.length;
      this.budget.bufferedBytes += datagram.length;
      this.wake();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.errors.push(error.code ?? error.message);
      transcript.record(label, 'note', `error: ${error.code ?? error.message}`);
      this.wake();
    });
  }

  static async open(endpoint: Endpoint, transcript: Transcript, options: UdpOptions & { label: string; queueLimitBytes?: number }): Promise<UdpSocket> {
    const socket = dgram.createSocket('udp4');
    socket.connect(endpoint.port, endpoint.host);
    await once(socket, 'connect');
    transcript.record(options.label, 'note', `UDP socket ${socket.address().port} -> ${endpoint.host}:${endpoint.port}`);
    return new UdpSocket(socket, options.label, transcript, options.queueLimitBytes, options.ioTimeoutMs);
  }

  private wake(): void {
    this.wakeups.wake();
  }

  /** Sends one datagram. */
  async send(data: Uint8Array | string): Promise<void> {
    // A fresh copy: dgram reads the buffer after an asynchronous step, and callers reuse theirs.
    const bytes = Buffer.from(typeof data === 'string' ? Buffer.from(data) : data);
    this.datagramsSent++;
    this.bytesSent += bytes.length;
    this.transcript.record(this.label, 'sent', bytes);
    await new Promise<void>((resolve) => {
      this.socket.send(bytes, (error) => {
        // A send the kernel refused is like a datagram lost on the way; the test sees its effect.
        if (error) this.errors.push((error as NodeJS.ErrnoException).code ?? error.message);
        resolve();
      });
    });
  }

  /** The next datagram, or undefined if none arrives within `timeoutMs`. */
  async tryReceive(timeoutMs = this.ioTimeoutMs): Promise<Buffer | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (this.queue.length === 0 && !this.closed) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return undefined;
      await this.wakeups.next(remaining);
    }
    return this.dequeue();
  }

  private dequeue(): Buffer | undefined {
    const datagram = this.queue.shift();
    if (datagram) {
      this.queuedBytes -= datagram.length;
      this.budget.bufferedBytes -= datagram.length;
    }
    return datagram;
  }

  /** The next datagram, or an error saying none came. */
  async receive(timeoutMs = this.ioTimeoutMs): Promise<Buffer> {
    const datagram = await this.tryReceive(timeoutMs);
    if (datagram) return datagram;
    const errors = this.errors.length > 0 ? ` (the kernel reported ${[...new Set(this.errors)].join(', ')})` : '';
    throw new ExpectationError(`expected a datagram from the server within ${timeoutMs} ms; none came${errors}`);
  }

  /** Datagrams that arrived and were not received yet. */
  get pending(): number {
    return this.queue.length;
  }

  /** Bytes of the datagrams that arrived and were not received yet. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // What was never received leaves the test's budget to the others.
    this.budget.bufferedBytes -= this.queuedBytes;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.wake();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

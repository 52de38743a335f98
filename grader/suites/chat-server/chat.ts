// The chat protocol from the test side: a client that reads all the time (as a real chat
// client does), tells replies from pushes, answers PINGs unless told not to, and checks what
// did not arrive.
import { performance } from 'node:perf_hooks';
import { expect, onTestFinished } from 'vitest';
import { ExpectationError, type SubmissionHandle, type TcpConnection } from 'netkata/harness';

/**
 * Lines the server sends on its own (caused by someone else, or by the heartbeat). Every other
 * line (OK, ERR ..., WHO ..., BYE) is a reply, and replies come in command order.
 */
const PUSH = /^(JOINED|PARTED|MSG|PRIV|QUIT|PING) /;

/** How often the reader looks up from an idle connection to see whether its test is over. */
const POLL_MS = 1_000;

export interface Push {
  readonly line: string;
  /** performance.now() when the line arrived. */
  readonly atMs: number;
}

export interface ChatClientOptions {
  /** Answer `PING <token>` with `PONG <token>` and hide it (default true). */
  readonly autoPong?: boolean;
  readonly connectTimeoutMs?: number;
}

export class ChatClient {
  private readonly replies: string[] = [];
  private readonly pushes: Push[] = [];
  private readonly listeners = new Set<() => void>();
  private closed: 'eof' | 'reset' | undefined;
  private failure: Error | undefined;
  private stopped = false;
  /** PINGs answered automatically. */
  pingsAnswered = 0;

  private constructor(
    readonly conn: TcpConnection,
    readonly label: string,
    /** Answer `PING <token>` with `PONG <token>` and hide it; a test may switch it. */
    public autoPong: boolean,
  ) {
    onTestFinished(() => {
      this.stopped = true;
    });
    void this.read();
  }

  static async connect(server: SubmissionHandle, label: string, options: ChatClientOptions = {}): Promise<ChatClient> {
    const conn = await server.connect({ label, timeoutMs: options.connectTimeoutMs });
    return new ChatClient(conn, label, options.autoPong ?? true);
  }

  /** Connects and takes the nick `nick` (also the transcript's label). */
  static async login(server: SubmissionHandle, nick: string, options: ChatClientOptions = {}): Promise<ChatClient> {
    const client = await ChatClient.connect(server, nick, options);
    await client.expectReply(`NICK ${nick}`, 'OK');
    return client;
  }

  /** Every line as it arrives, into the queue it belongs to, until the connection ends. */
  private async read(): Promise<void> {
    while (!this.stopped) {
      let line: string;
      try {
        line = await this.conn.readLine(POLL_MS);
      } catch (error) {
        if (this.stopped) return;
        const message = (error as Error).message;
        if (error instanceof ExpectationError && message.includes('timed out after')) continue;
        if (error instanceof ExpectationError && /closed the connection|connection failed/.test(message)) {
          this.closed = await this.conn.expectClosed(1).catch(() => 'eof' as const);
        } else {
          this.failure = error as Error;
        }
        this.notify();
        return;
      }
      if (this.autoPong && line.startsWith('PING ')) {
        this.pingsAnswered++;
        void this.send(`PONG ${line.slice(5)}`).catch(() => {});
      } else if (PUSH.test(line)) {
        this.pushes.push({ line, atMs: performance.now() });
      } else {
        this.replies.push(line);
      }
      this.notify();
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private describeQueued(): string {
    if (this.pushes.length === 0) return '';
    const shown = this.pushes.slice(0, 5).map((p) => JSON.stringify(truncate(p.line)));
    return ` (lines pushed meanwhile: ${shown.join(', ')}${this.pushes.length > 5 ? `, and ${this.pushes.length - 5} more` : ''})`;
  }

  /** Waits until `ready()`; fails if the connection ends first or time runs out. */
  private async waitUntil(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.failure) throw new ExpectationError(`${this.label}: expected ${what}: ${this.failure.message}`);
      if (this.closed)
        throw new ExpectationError(
          `${this.label}: expected ${what}, but the server ${this.closed === 'eof' ? 'closed' : 'reset'} the connection${this.describeQueued()}`,
        );
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ExpectationError(`${this.label}: expected ${what}: timed out after ${timeoutMs} ms${this.describeQueued()}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.listeners.delete(done);
          resolve();
        };
        const timer = setTimeout(done, remaining);
        this.listeners.add(done);
      });
    }
  }

  /** Sends one line; `\n` is added. */
  send(line: string): Promise<void> {
    return this.conn.write(`${line}\n`);
  }

  /** Sends bytes as they are: several lines, or part of one. */
  sendRaw(data: string | Buffer): Promise<void> {
    return this.conn.write(data);
  }

  /** The next reply (OK, ERR ..., WHO ..., BYE); pushes that came first stay queued for push(). */
  async reply(timeoutMs = 5_000, what = 'a reply'): Promise<string> {
    await this.waitUntil(() => this.replies.length > 0, timeoutMs, what);
    return this.replies.shift()!;
  }

  /** The next pushed line and when it arrived; replies that came first stay queued for reply(). */
  async pushTimed(timeoutMs = 5_000, what = 'a line pushed by the server'): Promise<Push> {
    await this.waitUntil(() => this.pushes.length > 0, timeoutMs, what);
    return this.pushes.shift()!;
  }

  async push(timeoutMs = 5_000, what?: string): Promise<string> {
    return (await this.pushTimed(timeoutMs, what)).line;
  }

  /** Sends a command and returns its reply. */
  async request(line: string, timeoutMs = 5_000): Promise<string> {
    await this.send(line);
    return this.reply(timeoutMs, `the reply to ${JSON.stringify(truncate(line))}`);
  }

  async expectReply(line: string, expected: string, timeoutMs = 5_000): Promise<void> {
    expect(await this.request(line, timeoutMs), `${this.label}: the reply to ${JSON.stringify(truncate(line))}`).toBe(expected);
  }

  async expectPush(expected: string, timeoutMs = 5_000): Promise<void> {
    expect(await this.push(timeoutMs, JSON.stringify(truncate(expected))), `${this.label}: the next line pushed to it`).toBe(expected);
  }

  async join(room: string): Promise<void> {
    await this.expectReply(`JOIN ${room}`, 'OK');
  }

  /**
   * Nothing was pushed to this client that the test has not taken: checked after a WHO round
   * trip, since the server writes what an earlier event caused before it answers a later command.
   */
  async expectNoPushes(because: string): Promise<void> {
    await this.request('WHO #sync');
    expect(
      this.pushes.map((p) => p.line),
      `${this.label} received lines it should not have (${because})`,
    ).toEqual([]);
  }

  /** Drops queued pushes that a test does not check (the JOINED lines of a crowd joining, say). */
  discardPushes(matching: RegExp): void {
    for (let i = this.pushes.length - 1; i >= 0; i--) if (matching.test(this.pushes[i]!.line)) this.pushes.splice(i, 1);
  }

  /** Waits for the server to end the connection, whatever it sends first. */
  async expectClosed(timeoutMs = 5_000): Promise<'eof' | 'reset'> {
    await this.waitUntil(() => this.closed !== undefined, timeoutMs, 'the server to close the connection').catch((error: Error) => {
      if (!this.closed) throw error;
    });
    return this.closed!;
  }

  /**
   * Expects the server to have dropped (or to drop within `timeoutMs`) this connection. Lines in
   * `allowed` may come first (a PING or a QUIT written before the drop); any other line means the
   * server is still serving it. Returns how it ended and the lines that came.
   */
  async expectDropped(timeoutMs: number, allowed = /^(PING|QUIT) /): Promise<{ how: 'eof' | 'reset'; lines: string[] }> {
    const lines: string[] = [];
    let served: string | undefined;
    const settled = () => {
      for (const line of [...this.pushes.splice(0).map((p) => p.line), ...this.replies.splice(0)]) {
        if (allowed.test(line)) lines.push(line);
        else served ??= line;
      }
      return served !== undefined || this.closed !== undefined;
    };
    try {
      await this.waitUntil(settled, timeoutMs, 'the server to drop the connection');
    } catch (error) {
      if (!this.closed) throw error;
      settled();
    }
    if (served !== undefined)
      throw new ExpectationError(`${this.label}: expected the server to drop this connection, but it sent ${JSON.stringify(truncate(served))}`);
    return { how: this.closed!, lines };
  }
}

function truncate(line: string, max = 80): string {
  return line.length > max ? `${line.slice(0, max)}… (${Buffer.byteLength(line)} bytes)` : line;
}

/** Connects and logs in each nick in turn (in turn, so the transcript reads in order). */
export async function loginAll(server: SubmissionHandle, nicks: readonly string[], options?: ChatClientOptions): Promise<ChatClient[]> {
  const clients: ChatClient[] = [];
  for (const nick of nicks) clients.push(await ChatClient.login(server, nick, options));
  return clients;
}

/**
 * Has `clients` join `room` one after another: each member already there must be told
 * `JOINED`, and the joiner nothing. Leaves no push unread.
 */
export async function joinAll(room: string, clients: readonly ChatClient[]): Promise<void> {
  for (const [i, client] of clients.entries()) {
    await client.join(room);
    for (const earlier of clients.slice(0, i)) await earlier.expectPush(`JOINED ${room} ${client.label}`);
  }
}

/** The `p`-th percentile (0-100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { figure, InfrastructureError, stage, useSubmission } from 'netkata/harness';
import { exchange, expectFile, get, HELLO, PUBLIC, servedTree } from './http.ts';

// Stage 4: 10,000 keep-alive connections at once, each having made one request and now idle,
// in 128 MiB and 128 pids: the C10K problem. Meanwhile a new client must be answered promptly,
// and connections picked from the crowd must still be served. The crowd is plain sockets (a
// transcript each would cost the test worker more than the server).
const CROWD = 10_000;
/** Connections opened at once: a burst the server's listen backlog must take. */
const WAVE = 250;
const WAVE_TIMEOUT_MS = 15_000;
const PROMPT_MS = 1_000;
const SAMPLE_EVERY = 50;
const MiB = 1024 * 1024;

const server = useSubmission({ files: servedTree(), filesRoot: PUBLIC });

/** This process's open-file limit, where the system says (Linux): 10,000 sockets need it. */
async function openFileLimit(): Promise<number | undefined> {
  const limits = await readFile('/proc/self/limits', 'utf8').catch(() => undefined);
  const soft = limits && /^Max open files\s+(\d+)/m.exec(limits)?.[1];
  return soft ? Number(soft) : undefined;
}

/** A crowd member: one request, its whole answer, then idle with its socket open. */
class Member {
  private input: Buffer = Buffer.alloc(0);
  /** How the server ended this connection, if it did. */
  closedEarly: string | undefined;
  private pending: { resolve: () => void; reject: (error: Error) => void; bodyBytes?: number } | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
      this.advance();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.gone(`reset it (${error.code ?? error.message})`));
    socket.on('close', () => this.gone('closed it'));
  }

  static open(endpoint: { host: string; port: number }): Promise<Member> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ ...endpoint, noDelay: true });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(new Member(socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EMFILE' || error.code === 'ENFILE')
          reject(new InfrastructureError(`the test worker ran out of file descriptors (${error.code}): raise \`ulimit -n\` above ${CROWD + 500}`));
        else reject(new Error(`connect failed: ${error.code ?? error.message}`));
      });
    });
  }

  /** GET /hello.txt and its whole answer: a 200 with exactly the file. */
  request(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no whole answer within ${timeoutMs} ms`)), timeoutMs);
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      this.pending = { resolve: () => settle(), reject: settle };
      if (this.closedEarly) return this.fail(new Error(`the server ${this.closedEarly}`));
      this.socket.write(get('/hello.txt'));
      this.advance();
    });
  }

  private advance(): void {
    const pending = this.pending;
    if (!pending) return;
    if (pending.bodyBytes === undefined) {
      const end = this.input.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = this.input.subarray(0, end).toString('latin1');
      this.input = this.input.subarray(end + 4);
      if (!/^HTTP\/1\.1 200 /.test(head)) return this.fail(new Error(`expected 200, got ${JSON.stringify(head.split('\r\n')[0]!.slice(0, 80))}`));
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length) return this.fail(new Error('a 200 without Content-Length'));
      pending.bodyBytes = Number(length[1]);
    }
    if (this.input.length < pending.bodyBytes) return;
    const body = this.input.subarray(0, pending.bodyBytes);
    this.input = this.input.subarray(pending.bodyBytes);
    this.pending = undefined;
    if (body.equals(HELLO)) pending.resolve();
    else pending.reject(new Error('the body differs from hello.txt'));
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }

  private gone(how: string): void {
    this.closedEarly ??= how;
    this.fail(new Error(`the server ${how} before the answer`));
  }
}

test(
  `${CROWD.toLocaleString('en')} idle keep-alive connections, a new client answered promptly meanwhile, and the crowd still served`,
  stage(4, 9, { timeout: 180_000 }),
  async ({ task }) => {
    const limit = await openFileLimit();
    if (limit !== undefined && limit < CROWD + 500) {
      throw new InfrastructureError(
        `this machine lets the test worker open ${limit} files; ${CROWD} connections need ${CROWD + 500} (\`ulimit -n ${CROWD + 1000}\`)`,
      );
    }
    const crowd: Member[] = [];
    const started = performance.now();
    try {
      while (crowd.length < CROWD) {
        const size = Math.min(WAVE, CROWD - crowd.length);
        const wave = await Promise.all(
          Array.from({ length: size }, async () => {
            const member = await Member.open(server.endpoint).catch((error: Error) => {
              if (error instanceof InfrastructureError) throw error;
              throw new Error(`connection ${crowd.length + 1} of ${CROWD}: ${error.message} (is the listen backlog long enough for ${WAVE} at once?)`, {
                cause: error,
              });
            });
            crowd.push(member);
            await member.request(WAVE_TIMEOUT_MS).catch((error: Error) => {
              throw new Error(`with ${crowd.length} connections open, a new one's GET /hello.txt failed: ${error.message}`, { cause: error });
            });
            return member;
          }),
        );
        expect(wave.length).toBe(size);
      }
      figure(task, 'crowdSeconds', Math.round((performance.now() - started) / 100) / 10);
      const early = crowd.filter((m) => m.closedEarly);
      expect(
        early.length,
        `connections the server closed while ${CROWD} were open and idle (IDLE_TIMEOUT_MS is 60 s; the first: ${early[0]?.closedEarly})`,
      ).toBe(0);
      await server.assertRunning();
      const stats = await server.processStats();
      figure(task, 'memoryMiB', Math.round(stats.memoryBytes / MiB));
      figure(task, 'threads', stats.threads);

      // A newcomer, answered promptly while the crowd waits.
      await using probe = await server.connect({ label: 'newcomer' });
      let slowest = 0;
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        expectFile(await exchange(probe, get('/hello.txt'), { timeoutMs: 5_000 }), HELLO);
        slowest = Math.max(slowest, performance.now() - t0);
        await sleep(50);
      }
      figure(task, 'newcomerSlowestMs', Math.round(slowest), { max: PROMPT_MS });
      expect(slowest, `the slowest of 20 answers to a new client with ${CROWD} connections open (ms)`).toBeLessThanOrEqual(PROMPT_MS);

      // Members picked across the crowd, first to last, are still served.
      const sample = crowd.filter((_, i) => i % SAMPLE_EVERY === 0);
      const failures = (
        await Promise.all(
          sample.map((m, i) =>
            m.request(10_000).then(
              () => undefined,
              (error: Error) => `member ${i * SAMPLE_EVERY + 1}: ${error.message}`,
            ),
          ),
        )
      ).filter(Boolean);
      expect(failures.slice(0, 5), `of ${sample.length} connections picked from the crowd, ${failures.length} were not served again`).toEqual([]);
      await server.assertRunning();
    } finally {
      for (const member of crowd) member.socket.destroy();
    }
  },
);

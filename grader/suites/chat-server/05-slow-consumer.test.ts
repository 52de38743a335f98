import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { figure, stage, useSubmission } from 'netkata/harness';
import { type ChatClient, joinAll, loginAll } from './chat.ts';

const MiB = 1024 * 1024;
const MAX_QUEUE_BYTES = 256 * 1024;
// The heartbeat stays at its default (15 s): these tests end long before it could drop anyone.
const server = useSubmission({ env: { MAX_QUEUE_BYTES: String(MAX_QUEUE_BYTES) } });

/** Each MSG as pushed to the members, `\n` included. */
const LINE_BYTES = 4_000;
/** Far beyond what kernel buffers hold, so only the server's own limit can act. */
const FLOOD_BYTES = 32 * MiB;
/**
 * How much may be sent toward a client that reads nothing before it must be dropped: its
 * queue in the server (MAX_QUEUE_BYTES) plus the kernel's buffers, which hold a few MiB here (a
 * send buffer of up to 4 MiB in the container, the test's receive buffer of 128 KiB or more;
 * measured: see task.meta.measurements). A server without its own limit goes to 32 MiB.
 */
const DROP_BOUND_BYTES = 12 * MiB;

/** `MSG <room> <text>` whose push `MSG <room> <sender> <text>\n` is exactly LINE_BYTES. */
function floodLine(room: string, sender: string, seq: number): string {
  const head = `${room} ${String(seq).padStart(6, '0')} `;
  const fill = LINE_BYTES - `MSG ${head}${sender} \n`.length;
  return `MSG ${head}${'.'.repeat(fill)}`;
}

/** How many flood messages a reader has taken, for the sender to pace itself by. */
class Progress {
  count = 0;
  private readonly waiters = new Set<() => void>();

  advance(): void {
    this.count++;
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves once `count` reaches `target`; never rejects (a stalled reader fails its own read). */
  async until(target: number): Promise<void> {
    while (this.count < target) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          resolve();
        };
        this.waiters.add(done);
      });
    }
  }
}

const BATCH_LINES = 16;
/**
 * The sender stays at most this many lines ahead of what the reading member has received, so
 * the reader's own queue in the server never nears MAX_QUEUE_BYTES (the server reads the sender
 * far faster than TCP can hand lines on: without pacing, a reader that keeps up would be
 * dropped too).
 */
const WINDOW_LINES = 32;

/** `sender` sends `count` lines to `room` in writes of BATCH_LINES, paced by `paced`, reading its OKs meanwhile. */
async function flood(sender: ChatClient, room: string, count: number, paced: Progress): Promise<void> {
  const oks = (async () => {
    for (let i = 0; i < count; i++)
      expect(await sender.reply(10_000, `OK for flood message ${i}`), `${sender.label}: the reply to flood message ${i}`).toBe('OK');
  })();
  oks.catch(() => {}); // awaited below
  const failed = oks.then(() => new Promise<never>(() => {}));
  failed.catch(() => {}); // raced below; its failure is oks's, awaited at the end
  for (let i = 0; i < count; i += BATCH_LINES) {
    await Promise.race([paced.until(i - WINDOW_LINES), failed]);
    const lines = Array.from({ length: Math.min(BATCH_LINES, count - i) }, (_, k) => `${floodLine(room, sender.label, i + k)}\n`);
    await Promise.race([sender.sendRaw(lines.join('')), failed]);
  }
  await oks;
}

/** Reads `count` flood messages in order; returns how many came before `QUIT <quitter>`, if one came. */
async function receiveFlood(
  member: ChatClient,
  room: string,
  sender: string,
  count: number,
  quitter: string,
  progress?: Progress,
): Promise<number | undefined> {
  let quitAfter: number | undefined;
  for (let i = 0; i < count;) {
    const line = await member.push(5_000, `flood message ${i} of ${count} (the others must not wait for a client that stopped reading)`);
    if (line === `QUIT ${quitter}`) {
      expect(quitAfter, `${member.label} heard QUIT ${quitter} twice`).toBeUndefined();
      quitAfter = i;
      continue;
    }
    const expected = `MSG ${room} ${sender} ${String(i).padStart(6, '0')} `;
    if (!line.startsWith(expected))
      throw new Error(`${member.label}: flood message ${i} should start ${JSON.stringify(expected)}, got ${JSON.stringify(line.slice(0, 60))}`);
    i++;
    progress?.advance();
  }
  return quitAfter;
}

test(
  'a client that stops reading is dropped once its queue passes MAX_QUEUE_BYTES; the others keep receiving',
  stage(5, 7, { timeout: 60_000 }),
  async ({ task }) => {
    const [snd, fast, slow] = await loginAll(server, ['snd', 'fast', 'slow']);
    await joinAll('#flood', [snd!, fast!, slow!]);
    slow!.conn.pause();
    const count = Math.ceil(FLOOD_BYTES / LINE_BYTES);
    const started = performance.now();
    const progress = new Progress();
    const [, quitAfter] = await Promise.all([flood(snd!, '#flood', count, progress), receiveFlood(fast!, '#flood', 'snd', count, 'slow', progress)]);
    const floodMs = performance.now() - started;
    let heardQuit = quitAfter;
    if (heardQuit === undefined) {
      // The QUIT may trail the last message: look once more.
      const line = await fast!.push(2_000, `QUIT slow: ${(FLOOD_BYTES / MiB).toFixed(0)} MiB were sent toward slow, which read none of it`);
      expect(line, 'the line after the flood').toBe('QUIT slow');
      heardQuit = count;
    }
    const sentBeforeDropBytes = heardQuit * LINE_BYTES;
    task.meta.measurements = { floodBytes: count * LINE_BYTES, floodMs: Math.round(floodMs) };
    figure(task, 'sentBeforeDropBytes', sentBeforeDropBytes, { min: MAX_QUEUE_BYTES, max: DROP_BOUND_BYTES });
    expect(
      sentBeforeDropBytes,
      `slow was dropped after ${sentBeforeDropBytes} bytes had been sent toward it: too early, its queue in the server cannot have passed MAX_QUEUE_BYTES (${MAX_QUEUE_BYTES})`,
    ).toBeGreaterThan(MAX_QUEUE_BYTES);
    expect(
      sentBeforeDropBytes,
      `slow was dropped only after ${(sentBeforeDropBytes / MiB).toFixed(1)} MiB had been sent toward it; MAX_QUEUE_BYTES (${MAX_QUEUE_BYTES}) plus the kernel's buffers stay under ${DROP_BOUND_BYTES / MiB} MiB`,
    ).toBeLessThan(DROP_BOUND_BYTES);
    slow!.conn.resume();
    await slow!.expectDropped(10_000, /^(MSG|JOINED|PING|QUIT) /);
    await fast!.expectNoPushes('one QUIT per departure');
    await fast!.expectReply('WHO #flood', 'WHO #flood fast snd');
  },
);

test('a client that falls behind by less than MAX_QUEUE_BYTES is not dropped', stage(5, 3), async () => {
  const [snd2, fast2, lag] = await loginAll(server, ['snd2', 'fast2', 'lag']);
  await joinAll('#lag', [snd2!, fast2!, lag!]);
  lag!.conn.pause();
  // 60 lines of 4,000 bytes: 240,000 bytes, under the limit even if the kernel held none of it.
  const count = 60;
  const progress = new Progress();
  const [, quitAfter] = await Promise.all([flood(snd2!, '#lag', count, progress), receiveFlood(fast2!, '#lag', 'snd2', count, 'lag', progress)]);
  expect(quitAfter, 'fast2 heard QUIT lag after this many messages: lag fell behind by less than MAX_QUEUE_BYTES and must stay').toBeUndefined();
  await sleep(500);
  lag!.conn.resume();
  expect(await receiveFlood(lag!, '#lag', 'snd2', count, 'none'), 'QUITs heard by lag').toBeUndefined();
  await fast2!.expectNoPushes('lag fell behind by less than MAX_QUEUE_BYTES and must stay');
  await fast2!.expectReply('WHO #lag', 'WHO #lag fast2 lag snd2');
});

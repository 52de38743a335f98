// The workshop board under a full room: `npx tsx bench/workshop.ts [--json]`.
//
// Method, printed with the figures:
// - One workshop server (the real store, line and HTTP server) on loopback, 20 teams, and 30
//   open board streams (GET /api/events, what 30 browsers hold) read by this process.
// - Every team uploads 3 times (60 uploads of a real packed folder, through POST
//   /api/submissions, spread over a few seconds). Grading is replaced by a stand-in that waits
//   200 ms and returns a report, 2 at a time: what is measured is the workshop's own path (store,
//   board, event fan-out), not the sandboxed grade, whose time `npm run bench` reports.
// - Result to board: from the moment the stand-in grade returns its report to the moment each
//   stream receives a board update whose history holds that submission; 60 results x 30 streams.
// - Upload: the POST's round trip as the client sees it (auth, unpack, store, queue).
// Bounded: 60 uploads and 30 streams, on loopback only.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GradeReport } from '../grader/src/report/grade-report.ts';
import { packSubmission } from '../grader/src/workshop/archive.ts';
import { serverEvents } from '../grader/src/workshop/event-stream.ts';
import { GradeQueue } from '../grader/src/workshop/queue.ts';
import { buildWorkshopServer } from '../grader/src/workshop/server.ts';
import { WorkshopStore } from '../grader/src/workshop/store.ts';

const TEAMS = 20;
const STREAMS = 30;
const UPLOADS_PER_TEAM = 3;
const GRADE_MS = 200;

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-bench-workshop-'));
const store = WorkshopStore.open(path.join(dir, 'ws'));
const tokens = Array.from({ length: TEAMS }, (_, i) => ({ team: `team-${i + 1}`, token: `token-${i + 1}` }));
for (const { team, token } of tokens) store.putTeam(team, token);
const resultAt = new Map<number, number>();
const queue = new GradeQueue(
  store,
  async ({ dir: upload }) => {
    await sleep(GRADE_MS);
    const id = Number(path.basename(upload));
    const points = id % 3 === 0 ? 10 : 5;
    resultAt.set(id, performance.now());
    return {
      exercise: { id: 'echo-server', title: 'Echo server' },
      status: points === 10 ? 'pass' : 'fail',
      points,
      maxPoints: 10,
      stages: [{ stage: 1, title: 'one', status: points === 10 ? 'pass' : 'fail', points, maxPoints: 10 }],
      tests: [],
      graderErrors: [],
      notices: [],
    } as unknown as GradeReport;
  },
  2,
);
const app = await buildWorkshopServer({
  store,
  queue,
  exercises: [{ id: 'echo-server', title: 'Echo server', maxPoints: 10, stageCount: 1 }],
  title: 'bench',
  uploadsPerMinute: 60,
});
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
queue.start();

const lags: number[] = [];
const seen = Array.from({ length: STREAMS }, () => new Set<number>());
const streams = await Promise.all(
  seen.map(async (mine) => {
    const controller = new AbortController();
    const response = await fetch(`${base}/api/events`, { signal: controller.signal });
    void (async () => {
      try {
        for await (const { data } of serverEvents(response.body!)) {
          const now = performance.now();
          const board = JSON.parse(data) as { rows: Array<{ history: Array<{ id: number }> }> };
          for (const row of board.rows)
            for (const { id } of row.history) {
              if (mine.has(id)) continue;
              mine.add(id);
              lags.push(now - resultAt.get(id)!);
            }
        }
      } catch {
        // Aborted at the end.
      }
    })();
    return controller;
  }),
);

const source = await mkdtemp(path.join(dir, 'upload-'));
await writeFile(path.join(source, 'main.ts'), `${'export const x = 1;\n'.repeat(200)}`);
const upload = await packSubmission(source);
const uploadMs: number[] = [];
const started = performance.now();
await Promise.all(
  tokens.map(async ({ team, token }, index) => {
    for (let n = 0; n < UPLOADS_PER_TEAM; n += 1) {
      await sleep(index * 50 + n * 1_500);
      const t0 = performance.now();
      const response = await fetch(`${base}/api/submissions?exercise=echo-server`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'x-netkata-team': team, 'content-type': 'application/gzip' },
        body: upload,
      });
      uploadMs.push(performance.now() - t0);
      if (response.status !== 202) throw new Error(`upload of ${team}: ${response.status} ${await response.text()}`);
    }
  }),
);
const graded = () => store.submissions().filter((s) => s.status === 'pass' || s.status === 'fail').length;
const expected = store.submissions().filter((s) => s.status !== 'replaced').length;
while (graded() < expected || lags.length < expected * STREAMS) {
  if (performance.now() - started > 120_000) throw new Error(`after 120 s: ${graded()} of ${expected} graded, ${lags.length} of ${expected * STREAMS} seen`);
  await sleep(50);
}
const wallMs = performance.now() - started;
for (const controller of streams) controller.abort();
queue.stop();
await app.close();
store.close();
await rm(dir, { recursive: true, force: true });

lags.sort((a, b) => a - b);
uploadMs.sort((a, b) => a - b);
const figures = {
  teams: TEAMS,
  streams: STREAMS,
  uploads: uploadMs.length,
  graded: expected,
  replaced: uploadMs.length - expected,
  resultToBoardMs: { p50: quantile(lags, 0.5), p95: quantile(lags, 0.95), max: lags[lags.length - 1]! },
  uploadMs: { p50: quantile(uploadMs, 0.5), p95: quantile(uploadMs, 0.95), max: uploadMs[uploadMs.length - 1]! },
  wallMs,
};
if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
else {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  process.stdout.write(
    [
      `workshop board: ${TEAMS} teams, ${STREAMS} open board streams, ${figures.uploads} uploads (${figures.replaced} replaced while waiting, ${expected} graded by a ${GRADE_MS} ms stand-in, 2 at a time)`,
      `result to board, per stream (${lags.length} deliveries): p50 ${ms(figures.resultToBoardMs.p50)}, p95 ${ms(figures.resultToBoardMs.p95)}, max ${ms(figures.resultToBoardMs.max)}`,
      `upload round trip: p50 ${ms(figures.uploadMs.p50)}, p95 ${ms(figures.uploadMs.p95)}, max ${ms(figures.uploadMs.max)}`,
      `wall time ${(wallMs / 1000).toFixed(1)} s; method: see the top of bench/workshop.ts`,
    ].join('\n') + '\n',
  );
}

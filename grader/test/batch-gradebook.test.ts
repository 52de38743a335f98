// A class's bookkeeping, with a stand-in for the sandboxed grade (batch.test.ts grades for real):
// shards by name, result files and --resume, the gradebook and its schema, and merging shards
// into the gradebook the whole batch would have written.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { GRADEBOOK_SCHEMA_FILE } from '../src/report/write-gradebook-schema.ts';
import { gradeBatch, parseShard, shardOf, type BatchOptions } from '../src/commands/batch.ts';
import { BatchProgress } from '../src/commands/batch-progress.ts';
import { parseJobs } from '../src/commands/jobs.ts';
import { mergeGradebooks } from '../src/commands/merge.ts';
import { InfrastructureError, NotASubmissionError } from '../src/errors.ts';
import { Lifetime } from '../src/lifetime.ts';
import { gradebookJsonSchema, gradebookSchema } from '../src/report/gradebook.ts';
import { standInReport } from './helpers/stand-in-report.ts';

let work: string;
let graded: string[];

/** The stand-in grade: a folder's points.txt says its points per stage; a folder without one holds nothing to grade. */
async function gradeOne(submission: string, _seed?: number) {
  graded.push(path.basename(submission));
  const text = await readFile(path.join(submission, 'points.txt'), 'utf8').catch(() => {
    throw new NotASubmissionError(`${submission} is not a submission: it has no src/main.ts`);
  });
  const stages = text.trim().split(',').map(Number);
  return standInReport(
    'echo-server',
    stages.reduce((a, b) => a + b, 0),
    120,
    stages,
  );
}

async function classOf(names: readonly string[]): Promise<string[]> {
  return Promise.all(
    names.map(async (name, i) => {
      const dir = path.join(work, 'class', name);
      await mkdir(dir, { recursive: true });
      if (name !== 'empty') await writeFile(path.join(dir, 'points.txt'), `${10 + (i % 3)},${i % 2 ? 0 : 15}`);
      return dir;
    }),
  );
}

const batch = (submissions: readonly string[], output: string, extra: Partial<BatchOptions> = {}) =>
  gradeBatch({
    exercise: 'echo-server',
    submissions,
    runtime: 'docker',
    reporters: ['json'],
    outputDir: output,
    impairment: 'auto',
    buildMode: 'auto',
    seed: 7,
    lifetime: new Lifetime(),
    gradeOne,
    ...extra,
  });

beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'netkata-gradebook-'));
  graded = [];
  return () => rm(work, { recursive: true, force: true });
});

describe('shards', () => {
  test('every submission in exactly one shard, by name: adding one moves no other', () => {
    const names = Array.from({ length: 300 }, (_, i) => `student-${i}`);
    const before = new Map(names.map((n) => [n, shardOf(n, 4)]));
    const sizes = [1, 2, 3, 4].map((i) => names.filter((n) => before.get(n) === i).length);
    // 300 names over 4 shards: each within 75 ± 30 (a binomial's 4.0 standard deviations; false failure < 1e-4).
    for (const size of sizes) expect(Math.abs(size - 75)).toBeLessThanOrEqual(30);
    const more = [...names, 'late-1', 'late-2'];
    for (const n of names) expect(shardOf(n, 4)).toBe(before.get(n));
    expect(more.every((n) => shardOf(n, 4) >= 1 && shardOf(n, 4) <= 4)).toBe(true);
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/2', '3/2', '1', 'a/b', '1/0']) expect(() => parseShard(bad)).toThrow(/--shard takes INDEX\/COUNT/);
  });

  test('--shard 1/2 and 2/2, merged, are the gradebook of the whole batch', async () => {
    const submissions = await classOf(['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'empty']);
    const whole = await batch(submissions, path.join(work, 'whole'));
    const one = await batch(submissions, path.join(work, 'shard-1'), { shard: { index: 1, count: 2 } });
    const two = await batch(submissions, path.join(work, 'shard-2'), { shard: { index: 2, count: 2 } });
    expect(one.submissions.length + two.submissions.length).toBe(7);
    expect(one.submissions.length).toBeGreaterThan(0);
    expect(two.submissions.length).toBeGreaterThan(0);
    const merged = await mergeGradebooks([path.join(work, 'shard-1', 'gradebook.json'), path.join(work, 'shard-2')], path.join(work, 'merged'));
    const expected = gradebookSchema.parse(JSON.parse(await readFile(whole.gradebook!, 'utf8')));
    const strip = (rows: typeof merged.rows) => rows.map(({ durationMs: _d, reports: _r, ...rest }) => rest);
    expect(strip(merged.rows)).toEqual(strip(expected.rows));
    expect(merged.shard).toBeUndefined();
    // The merged gradebook's report links lead to the shards' files.
    const alice = merged.rows.find((r) => r.submission === 'alice')!;
    const report = JSON.parse(await readFile(path.join(work, 'merged', alice.reports[0]!), 'utf8'));
    expect(report.points).toBe(alice.points);
    expect(await readFile(path.join(work, 'merged', 'gradebook.csv'), 'utf8')).toMatch(
      /^submission,status,points,max_points,stage_1,stage_2,stage_3,stage_4,stage_5,stage_6,seed,backend,grader_version,reports,error\r\nalice,/,
    );
  });

  test('merge refuses what is not one batch: another seed, a submission twice, a shard missing', async () => {
    const submissions = await classOf(['alice', 'bob', 'carol', 'dave']);
    await batch(submissions, path.join(work, 'a'), { shard: { index: 1, count: 2 } });
    await batch(submissions, path.join(work, 'b'), { shard: { index: 2, count: 2 }, seed: 8 });
    await batch(submissions, path.join(work, 'c'), { shard: { index: 2, count: 2 } });
    await batch(submissions, path.join(work, 'all'));
    const out = path.join(work, 'out');
    await expect(mergeGradebooks([path.join(work, 'a'), path.join(work, 'b')], out)).rejects.toThrow(/not one batch: seed 8 against 7/);
    await expect(mergeGradebooks([path.join(work, 'a')], out)).rejects.toThrow(/shard 2 of 2 is missing/);
    await expect(mergeGradebooks([path.join(work, 'all'), path.join(work, 'c')], out)).rejects.toThrow(
      /not shards of one split \(a whole batch, shards of 2\)/,
    );
    await expect(mergeGradebooks([path.join(work, 'all', 'alice.json')], out)).rejects.toThrow(/not a netkata gradebook/);
  });
});

describe('--jobs', () => {
  test('two grades at once, never more; the summary and gradebook in the order of the class, as serial', async () => {
    const submissions = await classOf(['alice', 'bob', 'carol', 'dave', 'erin', 'empty']);
    const serial = await batch(submissions, path.join(work, 'serial'));
    let inFlight = 0;
    let most = 0;
    // Grades that end in another order than they start: bob's is the slowest.
    const overlapping: BatchOptions['gradeOne'] = async (submission, seed) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, path.basename(submission) === 'bob' ? 60 : 10));
      inFlight--;
      return gradeOne(submission, seed);
    };
    const parallel = await batch(submissions, path.join(work, 'parallel'), { jobs: 2, gradeOne: overlapping });
    expect(most).toBe(2);
    const summary = (s: typeof serial) => s.submissions.map((e) => [path.basename(e.submission), e.status, e.points]);
    expect(summary(parallel)).toEqual(summary(serial));
    const rows = async (book: string) => gradebookSchema.parse(JSON.parse(await readFile(book, 'utf8'))).rows.map(({ durationMs: _d, ...rest }) => rest);
    expect(await rows(parallel.gradebook!)).toEqual(await rows(serial.gradebook!));
  });

  test('on a terminal, a bar: graded of all, passing, failing, errors, time left, the grades under way; each result above it', () => {
    let drawn = '';
    const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 160 }) as unknown as NodeJS.WriteStream;
    terminal.on('data', (chunk: Buffer) => (drawn += chunk.toString()));
    const progress = new BatchProgress(3, 2, terminal, true);
    progress.start(0, '/class/alice');
    progress.start(1, '/class/b\x1b[2Job');
    expect(drawn).toMatch(/0\/3 graded · 0 passing, 0 failing, 0 errors · time left unknown yet · now: alice, b\\x1b\[2Job/);
    progress.end({ submission: '/class/alice', status: 'pass', points: 120, maxPoints: 120, durationMs: 90_000 });
    expect(drawn).toMatch(/netkata: \[1\/3\] alice: pass 120\/120 in 90\.0 s; so far 1 passing, 0 failing, 0 errors; about 2 min left\n/);
    expect(drawn).toMatch(/1\/3 graded · 1 passing, 0 failing, 0 errors · about 2 min left · now: b\\x1b\[2Job/);
    // The student's folder name is shown, never obeyed: no escape of its own reaches the terminal.
    expect(drawn).not.toContain('b\x1b[2Job');
    progress.stop();
  });

  test('--jobs takes 1 up to one grade per core', () => {
    expect(parseJobs(undefined)).toBe(1);
    expect(parseJobs(String(os.availableParallelism()))).toBe(os.availableParallelism());
    expect(() => parseJobs(String(os.availableParallelism() + 1))).toThrow(/more grades at once than this machine has cores/);
    for (const bad of ['0', '-1', '1.5', 'two', '']) expect(() => parseJobs(bad)).toThrow(/--jobs takes a whole number/);
  });

  test('--stages: the gradebook has those stages only, and shards graded on other stages do not merge', async () => {
    const submissions = await classOf(['alice', 'bob', 'carol', 'dave']);
    const some = await batch(submissions, path.join(work, 'some'), { stages: '1-2', shard: { index: 1, count: 2 } });
    const book = gradebookSchema.parse(JSON.parse(await readFile(some.gradebook!, 'utf8')));
    expect(book.stages.map((s) => s.stage)).toEqual([1, 2]);
    await batch(submissions, path.join(work, 'all'), { shard: { index: 2, count: 2 } });
    await expect(mergeGradebooks([path.join(work, 'some'), path.join(work, 'all')], path.join(work, 'out'))).rejects.toThrow(
      /not one batch: stages 1,2,3,4,5,6 against 1,2; grade every shard with the same --stages/,
    );
  });
});

describe('result files and --resume', () => {
  test('a resumed batch grades only what changed, what errored and what is new, with the seed it had', async () => {
    const [alice, bob, carol] = await classOf(['alice', 'bob', 'carol']);
    const output = path.join(work, 'out');
    let calls = 0;
    const flaky: BatchOptions['gradeOne'] = async (submission) => {
      // carol's first grade meets a grader error: no verdict, so --resume grades her again.
      if (path.basename(submission) === 'carol' && calls++ === 0) throw new InfrastructureError('the engine went away');
      return gradeOne(submission);
    };
    const first = await batch([alice!, bob!, carol!], output, { gradeOne: flaky, seed: undefined });
    expect(first.submissions.map((e) => e.status)).toEqual(['fail', 'fail', 'error']);
    await writeFile(path.join(bob!, 'points.txt'), '20,20');
    const [dave] = await classOf(['dave']);
    graded = [];
    const said: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((text) => said.push(String(text)) > 0);
    const second = await batch([alice!, bob!, carol!, dave!], output, { gradeOne: flaky, resume: true, seed: undefined }).finally(() => stderr.mockRestore());
    expect(graded).toEqual(['bob', 'carol', 'dave']);
    // What the instructor watching it reads after each grade: that result, the class so far, the time left.
    expect(said.join('')).toMatch(
      /netkata: \[2\/4\] bob: fail 40\/120 in \d+\.\d s; so far 0 passing, 2 failing, 0 errors; (about \d+ min|under a minute) left\n/,
    );
    expect(said.join('')).toMatch(
      /netkata: \[1\/4\] alice: fail 25\/120 graded before, unchanged \(--resume\); so far 0 passing, 1 failing, 0 errors; time left unknown yet\n/,
    );
    expect(said.join('')).toMatch(/netkata: \[4\/4\] dave: fail 25\/120 in \d+\.\d s; so far 0 passing, 4 failing, 0 errors; done\n/);
    expect(second.seed).toBe(first.seed);
    expect(second.submissions.map((e) => [path.basename(e.submission), e.resumed === true])).toEqual([
      ['alice', true],
      ['bob', false],
      ['carol', false],
      ['dave', false],
    ]);
    const book = gradebookSchema.parse(JSON.parse(await readFile(second.gradebook!, 'utf8')));
    expect(book.rows.map((r) => [r.submission, r.points])).toEqual([
      ['alice', 25],
      ['bob', 40],
      ['carol', 27],
      ['dave', 25],
    ]);
    // A first batch stopped before its gradebook: the result files still give the seed to resume with.
    await rm(second.gradebook!);
    graded = [];
    const third = await batch([alice!, bob!, carol!, dave!], output, { resume: true, seed: undefined });
    expect(third.seed).toBe(first.seed);
    expect(graded).toEqual([]);
    // Another seed is another grade: nothing is resumed.
    graded = [];
    await batch([alice!, bob!], output, { resume: true, seed: 99 });
    expect(graded).toEqual(['alice', 'bob']);
    // Asked for a report it did not write last time, a resumed batch grades again.
    graded = [];
    await batch([alice!, bob!], output, { resume: true, seed: 99 });
    expect(graded).toEqual([]);
    await batch([alice!, bob!], output, { resume: true, seed: 99, reporters: ['json', 'junit'] });
    expect(graded).toEqual(['alice', 'bob']);
  });

  test("a folder name that would write over another's files, or the gradebook, is refused before any grade", async () => {
    const [alice, clash, book] = await classOf(['alice', 'alice.result', 'Gradebook']);
    await expect(batch([alice!, clash!], path.join(work, 'out'))).rejects.toThrow(
      /submission "alice.result" would write alice.result.json, which submission "alice" writes: rename one of the folders/,
    );
    await expect(batch([book!], path.join(work, 'out'))).rejects.toThrow(/submission "Gradebook" would write Gradebook.json, which the batch writes itself/);
    expect(graded).toEqual([]);
  });

  test('a folder with nothing to grade is a failing row with why; --resume and --shard need a folder', async () => {
    const [empty] = await classOf(['empty']);
    const summary = await batch([empty!], path.join(work, 'out'));
    const row = gradebookSchema.parse(JSON.parse(await readFile(summary.gradebook!, 'utf8'))).rows[0]!;
    expect(row).toMatchObject({ submission: 'empty', status: 'fail', points: 0, maxPoints: 120, stages: {}, reports: [] });
    expect(row.error).toMatch(/is not a submission/);
    await expect(batch([empty!], undefined as never, { resume: true })).rejects.toThrow(/--resume keeps each submission's result in a folder/);
  });
});

test('grader/gradebook.schema.json is generated from the zod schema and current (npm run schema)', async () => {
  expect(await readFile(GRADEBOOK_SCHEMA_FILE, 'utf8')).toBe(gradebookJsonSchema());
});

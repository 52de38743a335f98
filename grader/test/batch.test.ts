// Batch mode: a class graded on one machine, sandboxed only.
import { cp, mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../src/paths.ts';
import { gradebookSchema } from '../src/report/gradebook.ts';
import { fixture, netkata } from './helpers/cli.ts';

describe('netkata batch', () => {
  test("refuses to run other people's code on the local runtime", async () => {
    const result = await netkata(['batch', 'echo-server', path.join(repoRoot, 'solutions', '01-echo-server'), '--runtime', 'local']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/batch mode grades other people's code, so it runs it only sandboxed/);
  });

  /**
   * The fixture class, graded on stage 1 (what a course covers in its first week; a
   * class's later stages cost minutes of CI each, and docs/stability.md records the timing tests
   * of every stage graded two at a time): the reference, the starter, a variant that breaks stage
   * 3 and so passes this one (one-at-a-time), one that crashes in the middle of a test and earns
   * half (crash-mid-test), one that does not compile, an empty folder.
   */
  const CLASS = {
    alice: path.join(repoRoot, 'solutions', '01-echo-server'),
    bob: fixture('echo-server', 'one-at-a-time'),
    dave: fixture('hostile', 'crash-mid-test'),
    erin: fixture('echo-server', 'syntax-error'),
    frank: path.join(repoRoot, 'exercises', '01-echo-server'),
  } as const;
  const STAGES = '1';

  test('a class graded alone, then two at a time (--jobs 2), then as two shards merged: the same gradebook each time', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'netkata-batch-'));
    for (const [name, dir] of Object.entries(CLASS)) await cp(dir, path.join(work, name), { recursive: true, filter: (f) => !f.includes('node_modules') });
    await mkdir(path.join(work, 'carol'));
    const submissions = [...Object.keys(CLASS), 'carol'].sort().map((n) => path.join(work, n));
    const seed = '4242';
    const batch = async (output: string, ...more: string[]) => {
      const started = Date.now();
      const result = await netkata([
        'batch',
        'echo-server',
        ...submissions,
        '--stages',
        STAGES,
        '--seed',
        seed,
        '--output',
        path.join(work, output),
        '--reporter',
        'json',
        '--json',
        ...more,
      ]);
      return { ...result, wallMs: Date.now() - started };
    };
    const alone = await batch('alone');
    expect(alone.code, alone.stderr).toBe(1);
    const summary = JSON.parse(alone.stdout);
    expect(summary.submissions.map((e: { submission: string; status: string }) => [path.basename(e.submission), e.status])).toEqual([
      ['alice', 'pass'],
      ['bob', 'pass'],
      ['carol', 'fail'],
      ['dave', 'fail'],
      ['erin', 'fail'],
      ['frank', 'fail'],
    ]);
    expect(summary.submissions[0]).toMatchObject({ points: 10, maxPoints: 10 });
    expect(summary.submissions[2].error).toMatch(/is not a submission/);
    expect((await readdir(path.join(work, 'alone'))).sort()).toEqual([
      ...['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].flatMap((n) => (n === 'carol' ? [`${n}.result.json`] : [`${n}.json`, `${n}.result.json`])),
      'gradebook.csv',
      'gradebook.json',
    ]);
    const book = async (folder: string) => gradebookSchema.parse(JSON.parse(await readFile(path.join(work, folder, 'gradebook.json'), 'utf8')));
    const points = async (folder: string) => (await book(folder)).rows.map((r) => [r.submission, r.status, r.points, r.stages]);
    const aloneBook = await book('alone');
    expect(aloneBook.stages.map((s) => s.stage)).toEqual([1]);
    // The gradebook holds what the reports say: dave earns half of stage 1 before his crash, frank nothing.
    const dave = JSON.parse(await readFile(path.join(work, 'alone', 'dave.json'), 'utf8'));
    const daveRow = aloneBook.rows.find((r) => r.submission === 'dave')!;
    expect(daveRow.stages).toEqual(Object.fromEntries(dave.stages.map((s: { stage: number; points: number }) => [String(s.stage), s.points])));
    expect(daveRow.stages['1']).toBeGreaterThan(0);
    expect(daveRow.stages['1']).toBeLessThan(aloneBook.stages[0]!.maxPoints);
    expect(daveRow.backend).toBe(dave.impairment.backend);
    expect(aloneBook.rows.find((r) => r.submission === 'frank')!.points).toBe(0);

    const twoAtATime = await batch('jobs-2', '--jobs', '2');
    expect(twoAtATime.code, twoAtATime.stderr).toBe(1);
    expect(await points('jobs-2')).toEqual(await points('alone'));

    // A CI matrix's two jobs, here on one machine at once, then the merge job.
    const [one, two] = await Promise.all([batch('shard-1', '--shard', '1/2'), batch('shard-2', '--shard', '2/2')]);
    for (const shard of [one, two]) expect(shard.code, shard.stderr).not.toBe(2);
    const merged = await netkata(['merge', path.join(work, 'shard-1'), path.join(work, 'shard-2'), '--output', path.join(work, 'merged')]);
    expect(merged.code, merged.stderr).not.toBe(2);
    expect(await points('merged')).toEqual(await points('alone'));
    console.log(
      `batch of ${submissions.length}, stages ${STAGES}: alone ${(alone.wallMs / 1000).toFixed(1)} s, --jobs 2 ${(twoAtATime.wallMs / 1000).toFixed(1)} s (ratio ${(twoAtATime.wallMs / alone.wallMs).toFixed(2)})`,
    );
  }, 240_000);
});

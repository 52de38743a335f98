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

  test('grades each submission in containers with one seed, writes a report each and a summary', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'netkata-batch-'));
    await cp(path.join(repoRoot, 'solutions', '01-echo-server'), path.join(work, 'alice'), { recursive: true });
    await cp(fixture('echo-server', 'one-at-a-time'), path.join(work, 'bob'), { recursive: true });
    await mkdir(path.join(work, 'carol'));
    const reports = path.join(work, 'reports');
    const result = await netkata([
      'batch',
      'echo-server',
      ...['alice', 'bob', 'carol'].map((n) => path.join(work, n)),
      '--profile',
      'clean',
      '--output',
      reports,
      '--reporter',
      'json',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary.submissions.map((e: { status: string }) => e.status)).toEqual(['pass', 'fail', 'fail']);
    expect(summary.submissions[0]).toMatchObject({ points: 120, maxPoints: 120 });
    expect(summary.submissions[2].error).toMatch(/is not a submission/);
    expect((await readdir(reports)).sort()).toEqual([
      'alice.json',
      'alice.result.json',
      'bob.json',
      'bob.result.json',
      'carol.result.json',
      'gradebook.csv',
      'gradebook.json',
    ]);
    expect(Number.isInteger(summary.seed)).toBe(true);
    // The gradebook holds what the reports say, stage by stage.
    const book = gradebookSchema.parse(JSON.parse(await readFile(path.join(reports, 'gradebook.json'), 'utf8')));
    expect(book.rows.map((r) => [r.submission, r.status, r.points])).toEqual([
      ['alice', 'pass', 120],
      ['bob', 'fail', summary.submissions[1].points],
      ['carol', 'fail', 0],
    ]);
    const bob = JSON.parse(await readFile(path.join(reports, 'bob.json'), 'utf8'));
    expect(book.rows[1]!.stages).toEqual(Object.fromEntries(bob.stages.map((s: { stage: number; points: number }) => [String(s.stage), s.points])));
    expect(book.rows[1]!.backend).toBe(bob.impairment.backend);
  }, 240_000);
});

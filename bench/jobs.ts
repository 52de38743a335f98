// Verdicts and wall time of `netkata batch --jobs 2`: `npm run bench:jobs -- [--copies N] [exercise...]`.
//
// For each exercise, N copies of its reference (default 4; the load balancer's 3.5-minute grade
// gets 2) are graded as one class with `--jobs 2`, every stage under the manifest's profiles. A
// correct program must pass every test of every grade, two at a time as alone. Beside each
// batch's wall time: the same grades one after another, from the median of the stability
// record's 20 grades alone (docs/stability.md), and the ratio. Run it with nothing else on the
// machine: it is the machine's cores the two grades share.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { listExercises } from '../grader/src/catalog/catalog.ts';
import { repoRoot } from '../grader/src/paths.ts';
import type { GradeReport } from '../grader/src/report/grade-report.ts';

const run = promisify(execFile);
const { values, positionals } = parseArgs({ allowPositionals: true, options: { copies: { type: 'string' } } });
const exercises = (await listExercises()).filter((e) => positionals.length === 0 || positionals.includes(e.manifest.id));

/** Each exercise's median grade alone, in s, from the stability record's summary table. */
const record = await readFile(path.join(repoRoot, 'docs', 'stability.md'), 'utf8');
const alone = (id: string) => Number(new RegExp(`^\\| ${id} \\| \\d+ \\| \\d+ \\| \\d+ \\| \\w+ \\| ([\\d.]+) `, 'm').exec(record)?.[1]);

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const work = await mkdtemp(path.join(os.tmpdir(), 'netkata-bench-jobs-'));
const rows: string[] = [];
const failures: string[] = [];
try {
  for (const exercise of exercises) {
    const id = exercise.manifest.id;
    const copies = Number(values.copies ?? (id === 'load-balancer' ? 2 : 4));
    const submissions = Array.from({ length: copies }, (_, i) => path.join(work, id, `copy-${i + 1}`));
    for (const dir of submissions) await cp(exercise.solutionDir, dir, { recursive: true });
    const output = path.join(work, `${id}-reports`);
    const started = performance.now();
    await run(
      process.execPath,
      [path.join(repoRoot, 'bin', 'netkata.js'), 'batch', id, ...submissions, '--jobs', '2', '--output', output, '--reporter', 'json', '--json'],
      { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
    ).catch((error: { code?: number }) => {
      // Exit 1 is a failing grade, reported below; anything else is the batch's own failure.
      if (error.code !== 1) throw error;
    });
    const wallS = (performance.now() - started) / 1000;
    const reports = await Promise.all(
      (await readdir(output))
        .filter((f) => /^copy-\d+\.json$/.test(f))
        .map(async (f) => JSON.parse(await readFile(path.join(output, f), 'utf8')) as GradeReport),
    );
    const tests = reports.flatMap((r) => r.tests);
    const failed = tests.filter((t) => t.status !== 'passed');
    for (const t of failed) failures.push(`- ${id}: ${t.name} [${t.profile}] ${t.status}: ${(t.error ?? '').split('\n')[0]!.slice(0, 200)}`);
    // The tightest margin of a figure held to a limit, relative to the limit.
    let tightest: { share: number; what: string } | undefined;
    for (const t of tests)
      for (const [name, limit] of Object.entries(t.limits ?? {})) {
        const value = t.measurements?.[name];
        if (typeof value !== 'number') continue;
        const share =
          limit.max !== undefined
            ? (limit.max - value) / Math.abs(limit.max || 1)
            : limit.min !== undefined
              ? (value - limit.min) / Math.abs(limit.min || 1)
              : undefined;
        if (share !== undefined && (!tightest || share < tightest.share)) tightest = { share, what: `${t.name} ${name} [${t.profile}]` };
      }
    const serialS = alone(id) * copies;
    rows.push(
      `| ${id} | ${copies} | ${reports.filter((r) => r.status === 'pass').length} | ${tests.length - failed.length}/${tests.length} | ${median(reports.map((r) => r.durationMs / 1000)).toFixed(1)} (${alone(id)}) | ${wallS.toFixed(0)} | ${serialS.toFixed(0)} | ${(wallS / serialS).toFixed(2)} | ${tightest ? `${(100 * tightest.share).toFixed(0)} % (${tightest.what.replaceAll('|', '\\|')})` : '–'} |`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
process.stdout.write(
  [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.availableParallelism()} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}; references graded as one class per exercise with \`netkata batch --jobs 2\` (\`npm run bench:jobs\`).`,
    '',
    "| exercise | grades | passed | tests passed | a grade took, s: median (alone: the record's median) | batch wall, s | alone × grades, s | ratio | tightest margin |",
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    ...(failures.length ? ['', 'Tests that failed a correct program:', ...failures] : []),
    '',
  ].join('\n'),
);

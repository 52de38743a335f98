// The stability record (docs/stability.md) from `netkata verify --json` reports:
// `npm run stability -- [--out FILE] [--note TEXT] [--commit SHA (the grading code measured; default HEAD)] report.json...`.
//
// Each report is one exercise's reference graded N times in a row (`netkata verify <id> --runs N
// --json --output report.json`), alone on the machine. This prints, per exercise, every test's
// pass rate under each profile and the spread of every figure its test holds to a limit, with the
// worst run's margin: what a busier machine has left before the test would fail a correct program.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { VerifyReport } from '../grader/src/commands/verify.ts';
import { repoRoot } from '../grader/src/paths.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, note: { type: 'string' }, commit: { type: 'string' } },
});
if (positionals.length === 0) throw new Error('usage: npm run stability -- [--out FILE] [--note TEXT] [--commit SHA] report.json...');

const reports = await Promise.all(positionals.map(async (file) => JSON.parse(await readFile(file, 'utf8')) as VerifyReport));
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const git = (...args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
const cell = (text: string) => text.replaceAll('|', '\\|');
const limitText = (limit: { min?: number; max?: number }) =>
  [limit.min === undefined ? '' : `≥ ${limit.min}`, limit.max === undefined ? '' : `≤ ${limit.max}`].filter(Boolean).join(', ');

const lines: string[] = [];
const first = reports[0]!;
const starts = reports.map((r) => Date.parse(r.startedAt));
const ends = reports.map((r) => Date.parse(r.startedAt) + r.grades.reduce((sum, g) => sum + g.durationMs, 0));
const utc = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
lines.push(
  '# Stability of verdicts',
  '',
  "Every exercise's reference solution graded again and again, every stage under its manifest's profiles, each grade with a fresh seed (`netkata verify <id> --runs N`): a test that fails a correct program even once is a grader bug. Written by `npm run stability` from the verify reports.",
  '',
  `- Measured ${utc(Math.min(...starts))} to ${utc(Math.max(...ends))} UTC, grading code at commit ${values.commit ?? git('rev-parse', '--short', 'HEAD')}.`,
  `- Machine: ${first.machine.cores} cores (${first.machine.cpu ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${first.machine.node}, ${first.machine.runtime}, impairments by ${first.machine.backend ?? 'none'}.`,
  '- Method: one exercise after another, one grade at a time (`--all`: no stage skipped), with nothing else grading on the machine.',
  ...(values.note ? [`- ${values.note}`] : []),
  '',
  '| exercise | grades | passed | tests (× profiles) | every test, every run | a grade took, s: median (min–max) | tightest margin |',
  '| --- | --- | --- | --- | --- | --- | --- |',
);
for (const report of reports) {
  const passed = report.grades.filter((g) => g.status === 'pass').length;
  const durations = report.grades.map((g) => g.durationMs);
  const margins = report.tests.flatMap((t) =>
    Object.entries(t.figures).flatMap(([name, f]) => (f.relativeMargin === undefined ? [] : [{ name: `${t.name} ${name}`, f }])),
  );
  const tightest = margins.sort((a, b) => a.f.relativeMargin! - b.f.relativeMargin!)[0];
  lines.push(
    `| ${report.exercise} | ${report.runs} | ${passed} | ${report.tests.length} | ${report.stable ? 'yes' : '**no**'} | ${durations.length ? `${seconds(median(durations))} (${seconds(Math.min(...durations))}–${seconds(Math.max(...durations))})` : '–'} | ${tightest ? `${(100 * tightest.f.relativeMargin!).toFixed(0)} % (${cell(tightest.name)})` : '–'} |`,
  );
}
for (const report of reports) {
  lines.push('', `## ${report.exercise}`, '');
  for (const error of report.graderErrors) lines.push(`- grader error: ${cell(error)}`);
  lines.push(
    '| stage | test | profile | passed | duration, ms: median (min–max) | figures held to a limit: median (min–max), limit, worst margin |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const t of report.tests) {
    const figures = Object.entries(t.figures)
      .filter(([, f]) => f.limit)
      .map(
        ([name, f]) =>
          `${name} ${f.median} (${f.min}–${f.max}), ${limitText(f.limit!)}, margin ${f.margin}${f.relativeMargin === undefined ? '' : ` (${(100 * f.relativeMargin).toFixed(0)} %)`}`,
      );
    const failures = t.failures.map((f) => `failed ${f.count}×: ${f.message} (seed ${f.seed})`);
    lines.push(
      `| ${t.stage ?? '?'} | ${cell(t.name)} | ${t.profile} | ${t.passed}/${t.runs} | ${t.durationMs.median} (${t.durationMs.min}–${t.durationMs.max}) | ${cell([...figures, ...failures].join('; ') || '–')} |`,
    );
  }
}
const text = `${lines.join('\n')}\n`;
if (values.out) await writeFile(values.out, text);
else process.stdout.write(text);

// Where grading's time goes, against the floor: `npm run bench [-- exercise... --json FILE --no-visible]`.
//
// Method, printed with the figures:
// - grade: `netkata grade <id> --solution --all --reporter json`, one process per exercise, in
//   turn, timed from spawn to exit (wall). The report's `timings` split it: the run's own steps
//   (start: connect, bundle, image checks, network, host guard, submission image; calibrations;
//   removal), and per test runner run, each file's import, its tests' bodies and its hooks (the
//   harness's container starts and stops inside them). "runner" is each run's wall time beyond
//   its files (vitest's start, workers); "process" is the wall time beyond the report's duration
//   (Node and tsx starting, the exit).
// - floor, measured in the same run: the tests' bodies (the sum of their durations: what the
//   tests themselves need) plus one bare `docker run --rm <runtime image> node -e 0` (the median
//   of five, taken before the grades): what grading cannot go below with one container.
//   Overhead = wall - floor, also as a ratio wall / floor.
// - visible tests: `netkata test <id> --solution` (local runtime), spawn to exit, median of three.
// Run it alone: on two cores another grade moves every figure.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { listExercises } from '../grader/src/catalog/catalog.ts';
import { loadImage } from '../grader/src/images/image-spec.ts';
import { repoRoot } from '../grader/src/paths.ts';
import type { GradeReport } from '../grader/src/report/grade-report.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: 'string' }, 'no-visible': { type: 'boolean' } } });
const bin = path.join(repoRoot, 'bin', 'netkata.js');

function run(command: string, args: readonly string[]): Promise<{ wallMs: number; code: number | null; stdout: string; stderr: string }> {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ wallMs: performance.now() - startedAt, code, stdout, stderr }));
  });
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const s = (ms: number) => (ms / 1000).toFixed(1);

interface ExerciseFigures {
  readonly exercise: string;
  readonly status: GradeReport['status'];
  readonly points: string;
  readonly wallMs: number;
  readonly testBodiesMs: number;
  readonly floorMs: number;
  readonly overheadMs: number;
  readonly ratio: number;
  readonly startMs: number;
  readonly calibrationMs: number;
  readonly fileImportsMs: number;
  readonly fileHooksMs: number;
  readonly containerStartsMs: number;
  readonly containerStopsMs: number;
  readonly runnerMs: number;
  readonly removeMs: number;
  readonly processMs: number;
  readonly files: number;
  readonly runs: number;
  readonly phases: Readonly<Record<string, number>>;
  readonly visibleMs?: number;
}

const START_STEPS = [
  'connect',
  'work folder',
  'bundle',
  'sweep',
  'image runtime',
  'image runtime-c',
  'image impair',
  'network',
  'backend',
  'endpoints',
  'host guard',
  'submission image',
  'edge',
];

async function bareDockerRunMs(): Promise<number> {
  const image = (await loadImage('runtime')).tag;
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const result = await run('docker', ['run', '--rm', '--network', 'none', image, 'node', '-e', '0']);
    if (result.code !== 0) throw new Error(`docker run ${image} failed: ${result.stderr.trim()}`);
    times.push(result.wallMs);
  }
  return median(times);
}

async function benchExercise(id: string, bareRunMs: number): Promise<ExerciseFigures> {
  const result = await run(process.execPath, [bin, 'grade', id, '--solution', '--all', '--reporter', 'json']);
  let report: GradeReport;
  try {
    report = JSON.parse(result.stdout) as GradeReport;
  } catch {
    throw new Error(`netkata grade ${id} printed no JSON report (exit ${result.code}): ${result.stderr.slice(-2_000)}`);
  }
  const timings = report.timings;
  if (!timings) throw new Error(`the report of ${id} has no timings`);
  const modules = timings.runs.flatMap((r) => r.modules);
  const phase = (name: string) => sum(modules.map((m) => m.phases[name] ?? 0));
  const testBodiesMs = sum(report.tests.map((t) => t.durationMs));
  const floorMs = testBodiesMs + bareRunMs;
  const calibrationMs = sum(
    Object.entries(timings.phases)
      .filter(([name]) => name.startsWith('calibrate '))
      .map(([, ms]) => ms),
  );
  const fileImportsMs = sum(modules.map((m) => m.collectMs));
  const fileHooksMs = sum(modules.map((m) => m.hooksMs));
  return {
    exercise: id,
    status: report.status,
    points: `${report.points}/${report.maxPoints}`,
    wallMs: Math.round(result.wallMs),
    testBodiesMs,
    floorMs: Math.round(floorMs),
    overheadMs: Math.round(result.wallMs - floorMs),
    ratio: Number((result.wallMs / floorMs).toFixed(2)),
    // Steps started together overlap: the start is what elapsed, not the sum of its steps.
    startMs: Math.round(report.durationMs - calibrationMs - sum(timings.runs.map((r) => r.wallMs)) - (timings.phases.remove ?? 0)),
    calibrationMs,
    fileImportsMs,
    fileHooksMs,
    containerStartsMs: phase('submission start') + phase('peer start'),
    containerStopsMs: phase('submission stop') + phase('peer stop'),
    runnerMs: Math.round(sum(timings.runs.map((r) => r.wallMs)) - sum(modules.map((m) => m.collectMs + m.testsMs + m.hooksMs))),
    removeMs: timings.phases.remove ?? 0,
    processMs: Math.round(result.wallMs - report.durationMs),
    files: modules.length,
    runs: timings.runs.length,
    phases: Object.fromEntries(Object.entries(timings.phases).filter(([name]) => START_STEPS.includes(name))),
  };
}

async function visibleMs(id: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const result = await run(process.execPath, [bin, 'test', id, '--solution']);
    if (result.code !== 0) throw new Error(`netkata test ${id} --solution exited ${result.code}: ${result.stderr.slice(-1_000)}`);
    times.push(result.wallMs);
  }
  return Math.round(median(times));
}

const exercises = positionals.length > 0 ? positionals : (await listExercises()).map((e) => e.manifest.id);
console.log(
  `netkata grading benchmark: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(2)} at start`,
);
const bareRunMs = await bareDockerRunMs();
console.log(`bare docker run --rm <runtime image> node -e 0: ${bareRunMs.toFixed(0)} ms (median of 5)`);
const results: ExerciseFigures[] = [];
for (const id of exercises) {
  const figures = await benchExercise(id, bareRunMs);
  results.push(values['no-visible'] ? figures : { ...figures, visibleMs: await visibleMs(id) });
  process.stderr.write(`  ${id}: ${s(figures.wallMs)} s\n`);
}

const columns: Array<[string, (f: ExerciseFigures) => string]> = [
  ['exercise', (f) => f.exercise],
  ['verdict', (f) => `${f.status} ${f.points}`],
  ['wall', (f) => s(f.wallMs)],
  ['floor', (f) => s(f.floorMs)],
  ['overhead', (f) => s(f.overheadMs)],
  ['ratio', (f) => f.ratio.toFixed(2)],
  ['start', (f) => s(f.startMs)],
  ['calibr.', (f) => s(f.calibrationMs)],
  ['imports', (f) => s(f.fileImportsMs)],
  ['hooks', (f) => s(f.fileHooksMs)],
  ['(starts', (f) => s(f.containerStartsMs)],
  ['stops)', (f) => s(f.containerStopsMs)],
  ['runner', (f) => s(f.runnerMs)],
  ['remove', (f) => s(f.removeMs)],
  ['process', (f) => s(f.processMs)],
  ['files', (f) => String(f.files)],
  ['visible', (f) => (f.visibleMs === undefined ? '-' : s(f.visibleMs))],
];
const widths = columns.map(([title, cell]) => Math.max(title.length, ...results.map((r) => cell(r).length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
console.log('');
console.log(line(columns.map(([title]) => title)));
console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const r of results) console.log(line(columns.map(([, cell]) => cell(r))));
console.log(`
seconds. wall: spawn to exit of \`netkata grade <id> --solution --all --reporter json\`. floor: the
tests' bodies plus one bare docker run (${bareRunMs.toFixed(0)} ms). overhead: wall - floor; ratio: wall / floor.
start: the run's set-up before the first test runner (steps in parallel). calibr.: every profile's
calibration. imports: test files' import and top-level awaits. hooks: their beforeAll/afterAll
(container starts and stops, in brackets, are inside them). runner: vitest's own time around the
files. remove: the run's removal. process: Node and tsx starting, and the exit. visible: \`netkata
test <id> --solution\`, spawn to exit, median of 3 (local runtime).`);
console.log(`load average ${os.loadavg()[0]!.toFixed(2)} at the end`);
if (values.json) {
  await writeFile(
    values.json,
    `${JSON.stringify({ date: new Date().toISOString(), machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadAtEnd: os.loadavg()[0] }, bareDockerRunMs: Math.round(bareRunMs), exercises: results }, null, 2)}\n`,
  );
  console.log(`figures written to ${values.json}`);
}

// The learner's loop, timed: `npx tsx bench/loop.ts [runs]` (default 3 runs of each).
//
// Method, printed with the figures:
// - save to result: `netkata watch` on a scratch copy of exercises/01-echo-server; the script
//   writes src/main.ts (the reference solution, or the starter) and times from the write to the
//   verdict line (PASS/FAIL) on stdout, on the local runtime, as for the learner's own folder
//   (a scratch copy would run sandboxed otherwise). This is what a learner waits for after saving.
// - hidden grade of the starter: `netkata grade echo-server` on the untouched starter (Docker),
//   timed from process start to exit, and the report's own duration.
// - cold visible run: `netkata test echo-server --solution`, process start to exit (what a
//   first run costs: Node, tsx and vitest start).
// Run it alone: on two cores another grade moves every figure. Goals (issue 11): a correct
// solution's result within 1.5 s of saving, a silent starter's within 3 s, the hidden grade of a
// starter within 20 s.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../grader/src/paths.ts';

const runs = Number(process.argv[2] ?? 3);
const bin = path.join(repoRoot, 'bin', 'netkata.js');

function timed(args: string[]): Promise<{ wallMs: number; code: number | null; stdout: string }> {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ wallMs: performance.now() - startedAt, code, stdout }));
  });
}

const summary = (label: string, values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(
    `${label.padEnd(46)} median ${(median / 1000).toFixed(2)} s  (min ${(sorted[0]! / 1000).toFixed(2)}, max ${(sorted.at(-1)! / 1000).toFixed(2)}, n=${values.length})`,
  );
};

async function saveToResult(): Promise<{ solution: number[]; starter: number[] }> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'netkata-bench-'));
  const submission = path.join(work, 'echo');
  await cp(path.join(repoRoot, 'exercises', '01-echo-server'), submission, { recursive: true });
  const mainFile = path.join(submission, 'src', 'main.ts');
  const starter = await readFile(mainFile, 'utf8');
  const solution = await readFile(path.join(repoRoot, 'solutions', '01-echo-server', 'src', 'main.ts'), 'utf8');
  const child = spawn(process.execPath, [bin, 'watch', 'echo-server', '--submission', submission, '--runtime', 'local'], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const verdicts = () => stdout.match(/^(PASS|FAIL) \d+\/\d+ points/gm) ?? [];
  const waitForVerdict = async (count: number) => {
    while (verdicts().length < count) await sleep(10);
    return verdicts()[count - 1]!;
  };
  const figures = { solution: [] as number[], starter: [] as number[] };
  try {
    await waitForVerdict(1);
    // Let the watcher settle after the first run before the first timed save.
    await sleep(500);
    for (let i = 0; i < runs; i++) {
      for (const [kind, text, expected] of [
        ['solution', solution, 'PASS'],
        ['starter', starter, 'FAIL'],
      ] as const) {
        const before = verdicts().length;
        const savedAt = performance.now();
        // A comment that changes each time, so every save is a change.
        await writeFile(mainFile, `${text}\n// bench ${i} ${kind}\n`);
        const verdict = await waitForVerdict(before + 1);
        if (!verdict.startsWith(expected)) throw new Error(`expected ${expected} after saving the ${kind}, got ${verdict}`);
        figures[kind].push(performance.now() - savedAt);
        await sleep(500);
      }
    }
  } finally {
    child.stdin.write('q\n');
    await new Promise((resolve) => child.once('close', resolve));
    await rm(work, { recursive: true, force: true });
  }
  return figures;
}

console.log(`netkata loop benchmark, ${runs} runs each, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(2)} at start`);
const watch = await saveToResult();
summary('save to result, correct solution (watch)', watch.solution);
summary('save to result, silent starter (watch)', watch.starter);
const cold: number[] = [];
for (let i = 0; i < runs; i++) cold.push((await timed(['test', 'echo-server', '--solution'])).wallMs);
summary('cold visible run of the solution (process)', cold);
const hidden: number[] = [];
const reported: number[] = [];
for (let i = 0; i < runs; i++) {
  const result = await timed(['grade', 'echo-server', '--runtime', 'docker', '--reporter', 'json']);
  if (result.code !== 1) throw new Error(`the starter's grade should exit 1, not ${result.code}`);
  hidden.push(result.wallMs);
  reported.push((JSON.parse(result.stdout) as { durationMs: number }).durationMs);
}
summary('hidden grade of the starter (process, Docker)', hidden);
summary('hidden grade of the starter (report duration)', reported);
console.log(`load average ${os.loadavg()[0]!.toFixed(2)} at the end`);

import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { LABEL_OWNER } from '../../src/runtime/docker/labels.ts';
import type { GradeReport } from '../../src/report/grade-report.ts';
import { repoRoot } from '../../src/paths.ts';

export interface CliResult {
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export const fixture = (...parts: string[]) => path.join(repoRoot, 'grader', 'test', 'fixtures', ...parts);

/** Runs `netkata ...` as a user would (the bin script, a separate process), from the repo root. */
export function netkata(
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    onStderr?: (text: string) => void;
    signalAfter?: (child: ReturnType<typeof spawn>) => void;
    /** In a process group of its own, as a terminal's foreground job is: signal it with process.kill(-pid, ...). */
    ownProcessGroup?: boolean;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'netkata.js'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.ownProcessGroup ?? false,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(chunk.toString());
    });
    options.signalAfter?.(child);
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ pid: child.pid!, code, signal, stdout, stderr }));
  });
}

/** `netkata grade ... --reporter json`, with the report parsed; fails loudly if stdout is not a report. */
export async function gradeJson(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliResult & { report: GradeReport }> {
  const result = await netkata(['grade', ...args, '--reporter', 'json'], { env });
  let report: GradeReport;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    throw new Error(`netkata grade ${args.join(' ')} printed no JSON report (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { ...result, report };
}

/** Labels that select what one grader process (by pid) created: parallel test files grade too. */
export function ownedBy(pid: number): { label: string[] } {
  return { label: [`${LABEL_OWNER}=${os.hostname()}:${pid}`] };
}

/**
 * The failed tests (of one stage, or all) with their profile and reason, one per line: what a
 * CI log needs when a grade that should pass does not (the progress on stderr has no reasons).
 */
export function failedTests(report: GradeReport, stage?: number): string {
  return report.tests
    .filter((t) => t.status === 'failed' && (stage === undefined || t.stage === stage))
    .map((t) => `\n  ${t.name}${t.profile ? ` [${t.profile}]` : ''}: ${t.error ?? ''}`)
    .join('');
}

export const stageStatuses = (report: GradeReport) => Object.fromEntries(report.stages.map((s) => [s.stage, s.status]));

/**
 * A faulty variant must fail the stage it breaks (with a reason per failing test) and pass
 * every stage before it, so the failure is attributed to the right stage. Later stages are not
 * run (`--stages 1-N`): what they would say proves nothing about this variant. `--all`: no
 * fail-fast on silence, so a failure stands on its own evidence; `--bail`: the broken stage stops
 * at its first failure (a stage before it that failed would fail the check just the same), so a
 * variant does not wait out the timeouts of every other test it breaks. With `test`, the claim
 * names the test that catches it: the stages before are one grade, and the broken stage another
 * of that test alone (`-t`), which must fail.
 */
export async function expectBreaksStage(exercise: string, submission: string, breaks: number, extraArgs: readonly string[] = [], test?: string): Promise<void> {
  const grade = (stages: string, ...more: string[]) =>
    gradeJson([exercise, '--submission', submission, '--runtime', 'docker', '--stages', stages, '--all', ...more, ...extraArgs]);
  const before = Array.from({ length: breaks - 1 }, (_, i) => i + 1);
  if (test !== undefined) {
    if (before.length > 0) {
      const { code, report, stderr } = await grade(`1-${breaks - 1}`);
      expect(report.graderErrors, `grader errors\n${stderr}`).toEqual([]);
      expect(code, `${stderr}${failedTests(report)}`).toBe(0);
      expect(stageStatuses(report)).toEqual(Object.fromEntries(before.map((stage) => [stage, 'pass'])));
    }
    const { code, report, stderr } = await grade(String(breaks), '-t', test.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    expect(report.graderErrors, `grader errors\n${stderr}`).toEqual([]);
    expect(code, stderr).toBe(1);
    expect(report.tests.length, `tests named "${test}" in stage ${breaks}`).toBeGreaterThan(0);
    expect(report.tests.every((t) => t.stage === breaks && t.name.includes(test))).toBe(true);
    const failing = report.tests.filter((t) => t.status === 'failed');
    expect(failing.length, `"${test}" fails`).toBeGreaterThan(0);
    expect(
      failing.every((t) => t.error),
      'every failure says why',
    ).toBe(true);
    return;
  }
  const { code, report, stderr } = await grade(`1-${breaks}`, '--bail');
  expect(
    report.stages.map((s) => s.stage),
    'the stages graded',
  ).toEqual([...before, breaks]);
  expect(report.graderErrors, `grader errors\n${stderr}`).toEqual([]);
  expect(code, stderr).toBe(1);
  const statuses = stageStatuses(report);
  for (const stage of before) expect(statuses[stage], `stage ${stage}${failedTests(report, stage)}`).toBe('pass');
  expect(statuses[breaks], `stage ${breaks}`).toBe('fail');
  const failing = report.tests.filter((t) => t.stage === breaks && t.status === 'failed');
  expect(failing.length).toBeGreaterThan(0);
  expect(
    failing.every((t) => t.error),
    'every failure says why',
  ).toBe(true);
  // What --bail left out is in the broken stage only, after its first failure, and says so.
  const skipped = report.tests.filter((t) => t.status === 'skipped');
  expect(
    skipped.filter((t) => t.stage !== breaks || !/^not run: --bail stopped stage \d+ at its first failure/.test(t.error ?? '')).map((t) => t.name),
    'tests --bail left out',
  ).toEqual([]);
}

/**
 * A starter (or any submission that solves nothing) graded as a learner grades it (stages in
 * order, stopping at the first that fails) must build, fail stage 1, run nothing after it and
 * score 0: a failure to compile would prove nothing about the suite. Returns the report for more.
 */
export async function expectStarterStopsAtStage1(
  exercise: string,
  stageCount: number,
  submission?: string,
  extraArgs: readonly string[] = [],
): Promise<GradeReport> {
  const { code, report, stderr } = await gradeJson([exercise, ...(submission ? ['--submission', submission] : []), '--runtime', 'docker', ...extraArgs]);
  expect(code, report.buildError ?? stderr).toBe(1);
  expect(report.buildError).toBeUndefined();
  expect(report.graderErrors, `grader errors\n${stderr}`).toEqual([]);
  expect(report.points).toBe(0);
  expect(stageStatuses(report)).toEqual(Object.fromEntries(Array.from({ length: stageCount }, (_, i) => [i + 1, i === 0 ? 'fail' : 'not-run'])));
  expect(
    report.stages.slice(1).every((s) => s.blockedBy === 1),
    'later stages name stage 1 as the one to fix',
  ).toBe(true);
  expect(new Set(report.tests.map((t) => t.stage)), 'only stage 1 ran').toEqual(new Set([1]));
  expect(
    report.tests.filter((t) => t.status === 'failed').every((t) => t.error),
    'every failure says why',
  ).toBe(true);
  return report;
}

/**
 * With `--all` a starter must fail every stage and still score 0: a stage's points count only
 * when the stages before it pass, so tests a do-nothing server passes by silence earn nothing.
 */
export async function expectFailsEveryStage(
  exercise: string,
  stageCount: number,
  submission?: string,
  extraArgs: readonly string[] = [],
): Promise<GradeReport> {
  const { code, report } = await gradeJson([exercise, ...(submission ? ['--submission', submission] : []), '--runtime', 'docker', '--all', ...extraArgs]);
  expect(code, report.buildError).toBe(1);
  expect(report.buildError).toBeUndefined();
  expect(report.stages.filter((s) => s.status === 'fail').map((s) => s.stage)).toEqual(Array.from({ length: stageCount }, (_, i) => i + 1));
  expect(report.points).toBe(0);
  return report;
}

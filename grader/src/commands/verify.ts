import os from 'node:os';
import { findExercise } from '../catalog/catalog.ts';
import { ConfigError, GraderError } from '../errors.ts';
import type { BackendChoice } from '../impairment/backend-commands.ts';
import type { BuildMode } from '../images/ensure-image.ts';
import { InterruptedError, type Lifetime } from '../lifetime.ts';
import { notice } from '../log.ts';
import type { GradeReport } from '../report/grade-report.ts';
import type { FigureLimit, TestOutcome } from '../runner/outcome.ts';
import type { RuntimeChoice } from '../runner/start-run.ts';
import { grade } from './grade.ts';

export interface VerifyOptions {
  readonly exercise: string;
  readonly runs: number;
  /** Every stage under this profile instead of the manifest's. */
  readonly profile?: string;
  readonly impairment?: BackendChoice;
  readonly runtime: RuntimeChoice;
  readonly buildMode: BuildMode;
  readonly stages?: string;
  readonly testNamePattern?: string;
  readonly lifetime: Lifetime;
  readonly progress?: boolean;
}

/** One figure a test measured, over every run: its spread, and how close it came to its limit. */
interface FigureSpread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly limit?: FigureLimit;
  /**
   * The worst run's distance to the limit, in the figure's units (negative: past it), and as a
   * fraction of the limit: what a busier machine has left before this test fails.
   */
  readonly margin?: number;
  readonly relativeMargin?: number;
}

/** One test of the suite (under one profile) over every run of the reference. */
export interface TestStability {
  readonly file: string;
  readonly name: string;
  readonly profile: string;
  readonly stage: number | undefined;
  readonly runs: number;
  readonly passed: number;
  readonly durationMs: { readonly min: number; readonly median: number; readonly max: number };
  readonly figures: Readonly<Record<string, FigureSpread>>;
  /** The distinct first lines of its failures, with the seed of a run that failed so (replay with --seed). */
  readonly failures: ReadonlyArray<{ readonly message: string; readonly seed: number | undefined; readonly count: number }>;
}

export interface VerifyReport {
  readonly exercise: string;
  readonly runs: number;
  readonly startedAt: string;
  readonly machine: {
    readonly cores: number;
    readonly cpu: string | undefined;
    readonly node: string;
    readonly runtime: string;
    readonly backend: string | undefined;
  };
  readonly grades: ReadonlyArray<{
    readonly status: GradeReport['status'];
    readonly points: number;
    readonly maxPoints: number;
    readonly durationMs: number;
    readonly seed: number | undefined;
  }>;
  readonly tests: readonly TestStability[];
  readonly graderErrors: readonly string[];
  /** Every grade passed and every test passed in every run. */
  readonly stable: boolean;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function spread(values: readonly number[], limit: FigureLimit | undefined): FigureSpread {
  if (values.length === 0) return { min: NaN, median: NaN, max: NaN, ...(limit && { limit }) };
  const min = Math.min(...values);
  const max = Math.max(...values);
  const base = { min, median: median(values), max };
  if (!limit) return base;
  // The worst run's distance to whichever bound the test holds the figure to.
  const margins: Array<[number, number]> = [];
  if (limit.max !== undefined) margins.push([limit.max - max, limit.max]);
  if (limit.min !== undefined) margins.push([min - limit.min, limit.min]);
  if (margins.length === 0) return { ...base, limit };
  const [margin, bound] = margins.sort((a, b) => a[0] - b[0])[0]!;
  return { ...base, limit, margin: round(margin), ...(bound !== 0 && { relativeMargin: round(margin / Math.abs(bound), 3) }) };
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/**
 * Folds the reports of repeated grades of one submission into each test's pass rate and the
 * spread of its figures (durations, `measurements`) against the limits its test declared.
 */
export function stabilityOf(reports: readonly GradeReport[]): TestStability[] {
  const byTest = new Map<string, { first: TestOutcome; seen: Array<{ outcome: TestOutcome; seed: number | undefined }> }>();
  for (const report of reports) {
    for (const outcome of report.tests) {
      const key = `${outcome.file}\0${outcome.name}\0${outcome.profile ?? 'clean'}`;
      const entry = byTest.get(key) ?? { first: outcome, seen: [] };
      entry.seen.push({ outcome, seed: report.impairment?.seed });
      byTest.set(key, entry);
    }
  }
  return [...byTest.values()].map(({ first, seen }) => {
    const names = new Set(seen.flatMap(({ outcome }) => Object.keys(outcome.measurements ?? {})));
    const figures = Object.fromEntries(
      [...names].map((name) => {
        const values = seen.map(({ outcome }) => outcome.measurements?.[name]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        const limit = seen.map(({ outcome }) => outcome.limits?.[name]).find((l) => l !== undefined);
        return [name, spread(values, limit)];
      }),
    );
    const failures = new Map<string, { message: string; seed: number | undefined; count: number }>();
    for (const { outcome, seed } of seen) {
      if (outcome.status === 'passed') continue;
      const message = (outcome.error ?? outcome.status).split('\n')[0]!.slice(0, 300);
      const failure = failures.get(message) ?? { message, seed, count: 0 };
      failure.count++;
      failures.set(message, failure);
    }
    const durations = seen.map(({ outcome }) => outcome.durationMs);
    return {
      file: first.file,
      name: first.name,
      profile: first.profile ?? 'clean',
      stage: first.stage,
      // Runs that did not reach this test (a grader error before it) count against it too.
      runs: reports.length,
      passed: seen.filter(({ outcome }) => outcome.status === 'passed').length,
      durationMs: { min: Math.min(...durations), median: median(durations), max: Math.max(...durations) },
      figures,
      failures: [...failures.values()],
    };
  });
}

/**
 * Grades the exercise's reference solution `runs` times, one after another (on two cores a
 * second grade at once moves timing figures), every stage, each with a fresh seed, and reports
 * each test's pass rate and the spread of its figures against their limits.
 */
export async function verify(options: VerifyOptions): Promise<VerifyReport> {
  if (!Number.isInteger(options.runs) || options.runs < 1 || options.runs > 1_000)
    throw new ConfigError(`--runs must be a whole number from 1 to 1000, not ${options.runs}`);
  const exercise = await findExercise(options.exercise);
  const startedAt = new Date().toISOString();
  const reports: GradeReport[] = [];
  const graderErrors: string[] = [];
  const seeds: number[] = [];
  for (let run = 1; run <= options.runs; run++) {
    // Each run's seed is chosen here, so a run the grader failed in can still be replayed.
    const seed = Math.floor(Math.random() * 2 ** 31);
    seeds.push(seed);
    let report: GradeReport;
    try {
      report = await grade({
        seed,
        exercise: exercise.manifest.id,
        solution: true,
        all: true,
        runtime: options.runtime,
        buildMode: options.buildMode,
        lifetime: options.lifetime,
        ...(options.profile && { profile: options.profile }),
        ...(options.impairment && { impairment: options.impairment }),
        ...(options.stages && { stages: options.stages }),
        ...(options.testNamePattern && { testNamePattern: options.testNamePattern }),
      });
    } catch (error) {
      // A run the grader could not finish (a calibration out of bounds, the engine) counts
      // against stability like a failed test, and the runs go on.
      if (!(error instanceof GraderError) || error instanceof InterruptedError) throw error;
      graderErrors.push(`run ${run} (seed ${seed}): ${error.message.split('\n')[0]}`);
      if (options.progress) notice(`run ${run}/${options.runs}: grader error (seed ${seed}): ${error.message.split('\n')[0]}`);
      continue;
    }
    reports.push(report);
    graderErrors.push(
      ...report.graderErrors.map((e) => `run ${run}: ${e}`),
      ...(report.buildError ? [`run ${run}: the reference did not build: ${report.buildError}`] : []),
    );
    const failed = report.tests.filter((t) => t.status !== 'passed').length;
    if (options.progress)
      notice(
        `run ${run}/${options.runs}: ${report.status} ${report.points}/${report.maxPoints}${failed ? `, ${failed} tests failed` : ''} in ${(report.durationMs / 1000).toFixed(1)} s (seed ${report.impairment?.seed ?? '-'})`,
      );
  }
  const tests = stabilityOf(reports);
  const cpu = os.cpus()[0]?.model;
  return {
    exercise: exercise.manifest.id,
    runs: options.runs,
    startedAt,
    machine: {
      cores: os.cpus().length,
      cpu,
      node: process.version,
      runtime: `${reports[0]?.runtime.kind ?? '?'} ${reports[0]?.runtime.version ?? ''}`.trim(),
      backend: reports[0]?.impairment?.backend,
    },
    grades: reports.map((r) => ({ status: r.status, points: r.points, maxPoints: r.maxPoints, durationMs: r.durationMs, seed: r.impairment?.seed })),
    tests,
    graderErrors,
    stable:
      graderErrors.length === 0 && reports.length === options.runs && reports.every((r) => r.status === 'pass') && tests.every((t) => t.passed === t.runs),
  };
}

function describeLimit(limit: FigureLimit): string {
  if (limit.min !== undefined && limit.max !== undefined) return `${limit.min}..${limit.max}`;
  return limit.max !== undefined ? `≤ ${limit.max}` : `≥ ${limit.min}`;
}

/** The report as text: a line per test (pass rate, duration, figures against their limits), failures under it. */
export function renderVerify(report: VerifyReport): string {
  const lines: string[] = [];
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  lines.push(
    `${report.exercise}: the reference graded ${report.runs} times on ${report.machine.runtime} (${report.machine.backend ?? 'no'} impairments), ${report.machine.cores} cores, Node ${report.machine.node}`,
  );
  for (const t of report.tests) {
    const rate = `${((100 * t.passed) / t.runs).toFixed(0).padStart(3)} %`;
    const link = t.profile === 'clean' ? '' : ` [${t.profile}]`;
    lines.push(
      `${t.passed === t.runs ? ' ' : '!'} ${rate} ${String(t.passed).padStart(3)}/${t.runs}  stage ${t.stage ?? '?'} ${t.name}${link}  ${t.durationMs.median} ms (${t.durationMs.min}-${t.durationMs.max})`,
    );
    for (const [name, f] of Object.entries(t.figures)) {
      const against = f.limit
        ? `, limit ${describeLimit(f.limit)}, margin ${f.margin}${f.relativeMargin === undefined ? '' : ` (${(100 * f.relativeMargin).toFixed(0)} %)`}`
        : '';
      lines.push(`           ${name}: median ${f.median} (${f.min}-${f.max})${against}`);
    }
    for (const failure of t.failures)
      lines.push(`           failed ${failure.count}x: ${failure.message}${failure.seed === undefined ? '' : ` (replay: --seed ${failure.seed})`}`);
  }
  for (const error of report.graderErrors) lines.push(`grader error: ${error}`);
  const durations = report.grades.length > 0 ? report.grades.map((g) => g.durationMs) : [0];
  lines.push(
    `${report.stable ? 'STABLE' : 'UNSTABLE'}: ${report.grades.filter((g) => g.status === 'pass').length}/${report.runs} grades passed; a grade took ${seconds(median(durations))} (${seconds(Math.min(...durations))}-${seconds(Math.max(...durations))})`,
  );
  return `${lines.join('\n')}\n`;
}

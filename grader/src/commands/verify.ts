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
  /** The limit in the worst run (a test may set it from what the run measured, as losses + 8). */
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

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** One run's value of a figure, with the limit its test declared in that run (it may depend on the run: losses + 8). */
interface Sample {
  readonly value: number;
  readonly limit: FigureLimit | undefined;
}

function spread(samples: readonly Sample[]): FigureSpread {
  const limit = samples.find((s) => s.limit !== undefined)?.limit;
  if (samples.length === 0) return { min: NaN, median: NaN, max: NaN, ...(limit && { limit }) };
  const values = samples.map((s) => s.value);
  const base = { min: Math.min(...values), median: median(values), max: Math.max(...values) };
  // Each run's distance to whichever bound its test held the figure to; the worst run's is the margin.
  const margins: Array<{ margin: number; bound: number; limit: FigureLimit }> = [];
  for (const { value, limit: own } of samples) {
    if (own?.max !== undefined) margins.push({ margin: own.max - value, bound: own.max, limit: own });
    if (own?.min !== undefined) margins.push({ margin: value - own.min, bound: own.min, limit: own });
  }
  if (margins.length === 0) return { ...base, ...(limit && { limit }) };
  const worst = margins.sort((a, b) => a.margin - b.margin)[0]!;
  return {
    ...base,
    limit: worst.limit,
    margin: round(worst.margin),
    ...(worst.bound !== 0 && { relativeMargin: round(worst.margin / Math.abs(worst.bound), 3) }),
  };
}

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
        const samples = seen.flatMap(({ outcome }): Sample[] => {
          const value = outcome.measurements?.[name];
          return typeof value === 'number' && Number.isFinite(value) ? [{ value, limit: outcome.limits?.[name] }] : [];
        });
        return [name, spread(samples)];
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

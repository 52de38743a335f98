import type { Manifest } from '../catalog/manifest.ts';
import { ConfigError } from '../errors.ts';
import type { ModuleTimings, RuntimeReport, SuiteRun, TestOutcome } from '../runner/outcome.ts';
import type { ImpairmentBackend } from '../impairment/backend-commands.ts';
import type { Calibration } from '../impairment/calibrate.ts';
import { visibleStrings } from '../sanitize.ts';

type GradeStatus = 'pass' | 'fail' | 'error';

interface StageReport {
  readonly stage: number;
  readonly title: string;
  /** not-run: an earlier stage failed and the grade stopped there (run again with `--all`). */
  readonly status: 'pass' | 'fail' | 'not-run';
  /** Points of the tests that passed, counted only when every earlier stage passed (or the stage is independent). */
  readonly points: number;
  readonly maxPoints: number;
  readonly hint?: string;
  /** Why the stage's passed tests earned nothing, or why it did not run: "stage 1 first". */
  readonly blockedBy?: number;
}

/** How the network was made bad, and the proof that it was. */
export interface ImpairmentReport {
  readonly backend: ImpairmentBackend;
  /** packet: every packet of both directions at the container's interface (netem, userspace); datagram: a relay per datagram; stream: a TCP relay, which cannot lose or reorder packets. */
  readonly fidelity: 'packet' | 'datagram' | 'stream';
  /** Replays the same impairment decisions (userspace engine and relay). */
  readonly seed: number;
  readonly profiles: ReadonlyArray<{ readonly name: string; readonly files: readonly string[]; readonly calibration?: Calibration }>;
}

/** Where a grade's time went, in ms: what `npm run bench` splits a grade into. */
export interface GradeTimings {
  /**
   * The run's own steps: connect, bundle, image checks, network, host guard, submission image,
   * `calibrate <profile>`, remove. Steps started together each count in full.
   */
  readonly phases: Readonly<Record<string, number>>;
  /** Each test runner's run (one per stage and profile when gated): its wall time and its files'. */
  readonly runs: ReadonlyArray<{
    readonly link: string;
    readonly stages: readonly number[];
    readonly wallMs: number;
    readonly modules: readonly ModuleTimings[];
  }>;
}

/**
 * The one report every reporter renders. Its JSON form is netkata's `--reporter json` output.
 * Its text is display text: whatever a submission printed arrives here already made visible
 * (sanitize.ts), so a consumer of the object or of its JSON can show it as it is.
 */
export interface GradeReport {
  readonly schemaVersion: 1;
  /** The netkata release that graded (package.json's version); absent in reports from before it was recorded. */
  readonly graderVersion?: string;
  readonly exercise: { readonly id: string; readonly title: string };
  readonly submission: { readonly path: string; readonly kind: 'typescript' | 'dockerfile' };
  readonly runtime: RuntimeReport;
  readonly impairment?: ImpairmentReport;
  readonly status: GradeStatus;
  readonly points: number;
  readonly maxPoints: number;
  readonly stages: readonly StageReport[];
  readonly tests: readonly TestOutcome[];
  readonly buildError?: string;
  readonly graderErrors: readonly string[];
  readonly notices: readonly string[];
  readonly startedAt: string;
  readonly durationMs: number;
  readonly timings?: GradeTimings;
}

type ReportFrame = Omit<GradeReport, 'status' | 'points' | 'maxPoints' | 'stages' | 'tests' | 'graderErrors' | 'buildError'>;

/**
 * Checks that the suite and the manifest agree (every test tagged with a known stage, stage
 * points adding up), then scores: a stage passes when all of its tests did; a passed test's
 * points count when every earlier stage passed too (stages build on each other), or when its
 * stage is independent. `notRun` holds the stages a gated grade stopped before, each with the
 * failed stage that stopped it.
 */
export function scoreRun(
  manifest: Manifest,
  run: SuiteRun,
  frame: ReportFrame,
  strictPoints = true,
  notRun: ReadonlyMap<number, number> = new Map(),
): GradeReport {
  for (const test of run.tests) {
    if (test.stage === undefined || !manifest.stages.some((s) => s.stage === test.stage)) {
      throw new ConfigError(`test "${test.name}" (${test.file}) is tagged with stage ${test.stage}, which ${manifest.id}'s manifest does not have`);
    }
  }
  // A test run under several profiles counts once, and passes only if it passed under each.
  const unique = new Map<string, TestOutcome>();
  for (const test of run.tests) {
    const key = `${test.file}\0${test.name}`;
    const seen = unique.get(key);
    if (!seen || (seen.status === 'passed' && test.status !== 'passed')) unique.set(key, test);
  }
  /** The first stage so far that did not pass: later dependent stages earn nothing. */
  let firstFailed: number | undefined;
  const stages = manifest.stages
    .map((s): StageReport => {
      const stopper = notRun.get(s.stage);
      if (stopper !== undefined) {
        firstFailed ??= stopper;
        return { stage: s.stage, title: s.title, status: 'not-run', points: 0, maxPoints: s.points, blockedBy: stopper };
      }
      const tests = [...unique.values()].filter((t) => t.stage === s.stage);
      const tagged = tests.reduce((sum, t) => sum + (t.points ?? 0), 0);
      if (strictPoints && tagged !== s.points) {
        throw new ConfigError(`stage ${s.stage} of ${manifest.id} is worth ${s.points} points in the manifest but its tests add up to ${tagged}`);
      }
      const passed = tests.length > 0 && tests.every((t) => t.status === 'passed');
      const earned = tests.filter((t) => t.status === 'passed').reduce((sum, t) => sum + (t.points ?? 0), 0);
      const blockedBy = s.independent ? undefined : firstFailed;
      if (!passed && tests.length > 0 && !s.independent) firstFailed ??= s.stage;
      return {
        stage: s.stage,
        title: s.title,
        status: passed ? 'pass' : 'fail',
        points: blockedBy === undefined ? earned : 0,
        maxPoints: strictPoints ? s.points : tagged,
        ...(passed || !s.hint ? {} : { hint: s.hint }),
        ...(blockedBy !== undefined && earned > 0 ? { blockedBy } : {}),
      };
    })
    .filter((s) => strictPoints || s.maxPoints > 0 || s.status === 'not-run' || run.tests.some((t) => t.stage === s.stage));
  const points = stages.reduce((sum, s) => sum + s.points, 0);
  const maxPoints = stages.reduce((sum, s) => sum + s.maxPoints, 0);
  const status: GradeStatus = run.graderErrors.length > 0 ? 'error' : stages.every((s) => s.status === 'pass') ? 'pass' : 'fail';
  // Where learner text enters the report: logs, transcripts and error messages are data.
  return visibleStrings({ ...frame, status, points, maxPoints, stages, tests: run.tests, graderErrors: run.graderErrors });
}

/** A submission that did not build: every stage fails, no test ran. */
export function buildFailureReport(manifest: Manifest, buildError: string, frame: ReportFrame): GradeReport {
  return visibleStrings({
    ...frame,
    status: 'fail',
    points: 0,
    maxPoints: manifest.stages.reduce((sum, s) => sum + s.points, 0),
    stages: manifest.stages.map((s) => ({ stage: s.stage, title: s.title, status: 'fail', points: 0, maxPoints: s.points })),
    tests: [],
    buildError,
    graderErrors: [],
  } satisfies GradeReport);
}

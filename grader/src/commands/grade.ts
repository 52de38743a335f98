import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { BackendChoice } from '../impairment/backend-commands.ts';
import { describeCalibration, type Calibration } from '../impairment/calibrate.ts';
import { isCleanLink, loadProfile, type LinkSpec } from '../impairment/profile.ts';
import { findExercise, isDirectory, requireHiddenSuite, requireSolution, type Exercise } from '../catalog/catalog.ts';
import { resolveSubmission } from '../build/submission.ts';
import { CalibrationError, ConfigError, SubmissionBuildError } from '../errors.ts';
import type { BuildMode } from '../images/ensure-image.ts';
import { notice } from '../log.ts';
import { buildFailureReport, scoreRun, type GradeReport, type GradeTimings, type ImpairmentReport } from '../report/grade-report.ts';
import { StartedRun, type RuntimeChoice } from '../runner/start-run.ts';
import { preloadRunner, runSuite } from '../runner/run-suite.ts';
import { LiveProgress } from '../runner/live-progress.ts';
import { visibleLine } from '../report/sanitize.ts';
import type { TestOutcome } from '../runner/outcome.ts';
import { NOT_REACHED } from '../runner/collect-reporter.ts';
import type { Lifetime } from '../lifetime.ts';
import { graderVersion } from '../version.ts';
import { readableBy } from '../runtime/local-user.ts';

export interface GradeOptions {
  readonly exercise: string;
  /** Runs every stage under this profile instead of the manifest's. */
  readonly profile?: string;
  readonly impairment?: BackendChoice;
  readonly seed?: number;
  readonly submission?: string;
  readonly solution?: boolean;
  /** Another folder of hidden tests (an instructor's private suite). */
  readonly suite?: string;
  readonly visible?: boolean;
  readonly runtime: RuntimeChoice;
  readonly buildMode: BuildMode;
  /** Base images a Dockerfile submission may use besides the grader's (`--allow-base`). */
  readonly allowBases?: readonly string[];
  /** The local runtime starts the submission as this unprivileged user (`--run-as`, an autograder's container). */
  readonly runAs?: string;
  readonly testNamePattern?: string;
  /** Only these stages, as written on the command line: `1-3`, `2,5`, `1-3,6`. */
  readonly stages?: string;
  /** Holds the run, so that a signal disposes of it. */
  readonly lifetime: Lifetime;
  readonly progress?: boolean;
  /**
   * Every stage, whatever earlier ones did (instructors, CI, batch). Without it, stages run in
   * order and the grade stops at the first that fails, as CodeCrafters' stages do: a learner
   * sees the one thing to fix, in seconds, and the calibrations of later stages are skipped.
   */
  readonly all?: boolean;
  /**
   * Each stage stops at its first failing test (vitest's bail, one stage per run), and a stage
   * that failed is not run again under its other profiles: the rest of it is reported not run.
   * A learner's quick loop, and the exercise check's proof that a variant breaks its stage.
   */
  readonly bail?: boolean;
  /**
   * A folder for failed tests' artifacts (`--artifacts DIR`, created if missing): one folder per
   * failed test with its transcript, the submission's output and, in containers, a packet capture.
   */
  readonly artifacts?: string;
}

async function submissionDir(exercise: Exercise, options: GradeOptions): Promise<string> {
  if (options.solution && options.submission) throw new ConfigError('use either --solution or --submission, not both');
  if (options.solution) return requireSolution(exercise);
  return options.submission ? path.resolve(options.submission) : exercise.exerciseDir;
}

/**
 * Visible tests on a clean link wait this long for a reply a test names no timeout for: a
 * correct server answers on loopback within milliseconds, so a silent starter's result comes
 * in about 3 s of saving rather than 7; the hidden suite keeps DEFAULT_IO_TIMEOUT_MS.
 */
const VISIBLE_IO_TIMEOUT_MS = 1_500;

function progressLine(outcome: TestOutcome, profile: string): string {
  const mark = outcome.status === 'passed' ? '✓' : outcome.status === 'failed' ? '✗' : '-';
  const link = profile === 'clean' ? '' : ` [${profile}]`;
  return `  ${mark} stage ${outcome.stage ?? '?'} ${visibleLine(outcome.name)}${link} (${outcome.durationMs} ms)`;
}

/** Builds and grades a submission against an exercise's hidden suite (or its visible tests). */
export async function grade(options: GradeOptions): Promise<GradeReport> {
  const startedAt = new Date();
  preloadRunner();
  const exercise = await findExercise(options.exercise);
  // Without --suite, a missing hidden suite says where it comes from (a learner's copy has none).
  const suiteDir = path.resolve(options.suite ?? (options.visible ? exercise.visibleTestDir : await requireHiddenSuite(exercise)));
  if (!(await isDirectory(suiteDir))) throw new ConfigError(`test suite folder ${suiteDir} does not exist`);
  const submission = await resolveSubmission(await submissionDir(exercise, options));
  const frame = (runtime: GradeReport['runtime'], notices: string[]) => ({
    schemaVersion: 1 as const,
    graderVersion,
    exercise: { id: exercise.manifest.id, title: exercise.manifest.title },
    submission: { path: path.relative(process.cwd(), submission.dir) || '.', kind: submission.kind },
    runtime,
    notices,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
  });

  const selected = options.stages === undefined ? undefined : parseStages(options.stages, exercise.manifest);
  // The report covers the stages that ran, each scored in full: "stages 1-3: 45/45" in a workshop.
  const manifest = selected ? { ...exercise.manifest, stages: exercise.manifest.stages.filter((s) => selected.has(s.stage)) } : exercise.manifest;
  const steps = await planSteps(exercise, suiteDir, options, selected);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const artifactsDir = options.artifacts === undefined ? undefined : await artifactsFolder(options.artifacts);
  let prepared: StartedRun;
  try {
    prepared = await StartedRun.start(
      {
        exercise,
        submission,
        runtime: options.runtime,
        // Anything but the learner's own exercise folder (or the reference) may be someone else's code.
        foreign: !options.solution && options.submission !== undefined && submission.dir !== exercise.exerciseDir,
        impairment: options.impairment ?? 'auto',
        seed,
        buildMode: options.buildMode,
        ...(options.allowBases && { allowBases: options.allowBases }),
        ...(options.runAs !== undefined && { runAs: options.runAs }),
      },
      options.lifetime,
    );
  } catch (error) {
    if (!(error instanceof SubmissionBuildError)) throw error;
    const runtime = { kind: options.runtime === 'local' ? 'local' : 'docker', version: '', isolated: false } as const;
    return buildFailureReport(exercise.manifest, `${error.message}\n${error.output}`, frame(runtime, []));
  }
  if (options.progress)
    notice(
      `grading ${path.relative(process.cwd(), submission.dir) || '.'} against ${exercise.manifest.id} on the ${prepared.runtime.kind} runtime, impairments by ${prepared.backend}`,
    );
  // The UDP relay loses, duplicates and reorders datagrams itself; only the TCP one cannot.
  if (prepared.backend === 'relay' && exercise.manifest.transport === 'tcp' && steps.some((g) => !isCleanLink(g.link))) {
    const message =
      'the local runtime impairs through a TCP relay: delay, jitter, rate, small segments and stalls, but no packet loss, duplication or reordering (those need Docker)';
    notice(message);
    prepared.notices.push(message);
  }
  const user = prepared.context.local?.user;
  if (user) {
    // Switching users keeps the submission from writing the results; reading the answers is up to the folders' modes.
    for (const [what, dir] of [
      ['hidden suite', suiteDir],
      ['reference solution', exercise.solutionDir],
    ] as const) {
      if (!(await readableBy(dir, user))) continue;
      const message = `the ${what} at ${dir} is readable by ${user.name}, whom the submission runs as: it could read them. Make them private (chmod -R o-rwx on the folder holding netkata) before grading others' work.`;
      notice(message);
      prepared.notices.push(message);
    }
  }
  let report: GradeReport;
  try {
    report = await gradeOn(prepared, exercise, manifest, suiteDir, steps, seed, frame, { ...options, ...(artifactsDir && { artifacts: artifactsDir }) });
  } finally {
    await prepared.phases.time('remove', () => prepared.dispose());
    options.lifetime.release(prepared);
  }
  return { ...report, durationMs: Date.now() - startedAt.getTime(), timings: { runs: report.timings?.runs ?? [], phases: prepared.phases.figures } };
}

async function gradeOn(
  prepared: StartedRun,
  exercise: Exercise,
  manifest: Exercise['manifest'],
  suiteDir: string,
  steps: readonly Step[],
  seed: number,
  frame: (
    runtime: GradeReport['runtime'],
    notices: string[],
  ) => Omit<GradeReport, 'status' | 'points' | 'maxPoints' | 'stages' | 'tests' | 'graderErrors' | 'buildError'>,
  options: GradeOptions,
): Promise<GradeReport> {
  const tests: TestOutcome[] = [];
  const graderErrors: string[] = [];
  const profiles: ImpairmentReport['profiles'][number][] = [];
  const calibrations = new Map<string, Calibration>();
  const live = options.progress ? new LiveProgress() : undefined;
  /** Stages that did not run, each with the failed stage that stopped the grade before it. */
  const notRun = new Map<number, number>();
  const failed = new Set<number>();
  const runs: Array<GradeTimings['runs'][number]> = [];
  const independent = (stage: number) => manifest.stages.find((s) => s.stage === stage)?.independent === true;
  try {
    for (const step of steps) {
      const stopper = [...failed].find((f) => f < Math.min(...step.stages));
      if (!options.all && stopper !== undefined && step.stages.every((s) => !independent(s))) {
        for (const stage of step.stages) notRun.set(stage, stopper);
        continue;
      }
      // A stage that already failed on one link is not run again on the next: the verdict stands.
      if ((!options.all || options.bail) && step.stages.every((s) => failed.has(s))) continue;
      let calibration = calibrations.get(step.link.name);
      if (!calibration && !isCleanLink(step.link)) {
        if (options.progress) notice(`calibrating the ${step.link.name} profile on ${prepared.backend}...`);
        calibration = await prepared.calibrate(step.link);
        if (!calibration.ok) {
          throw new CalibrationError(
            `the ${step.link.name} link measured outside its profile (${calibration.attempts === 1 ? 'once' : `${calibration.attempts} times`}), so no test ran under it:\n${describeCalibration(calibration)}`,
          );
        }
        calibrations.set(step.link.name, calibration);
      }
      const entry = profiles.find((p) => p.name === step.link.name);
      if (entry) profiles[profiles.indexOf(entry)] = { ...entry, files: [...entry.files, ...step.files] };
      else profiles.push({ name: step.link.name, files: step.files, ...(calibration ? { calibration } : {}) });
      const runStarted = performance.now();
      const run = await runSuite({
        suiteDir,
        files: step.files,
        context: {
          ...prepared.context,
          impairment: { backend: prepared.backend, link: step.link, seed },
          failFast: !options.all,
          ...(options.visible && isCleanLink(step.link) && { ioTimeoutMs: VISIBLE_IO_TIMEOUT_MS }),
          ...(options.artifacts !== undefined && { artifactsDir: options.artifacts }),
        },
        testNamePattern: options.testNamePattern,
        bail: options.bail,
        run: prepared,
        ...(live && {
          onTestStart: (test) => live.start(`stage ${test.stage ?? '?'} ${test.name}${isCleanLink(step.link) ? '' : ` [${step.link.name}]`}`),
          onTest: (outcome) => live.end(progressLine(outcome, step.link.name)),
        }),
      });
      runs.push({ link: step.link.name, stages: step.stages, wallMs: Math.round(performance.now() - runStarted), modules: run.modules ?? [] });
      // -t leaves the tests it filtered out as skipped; they were not graded, so not reported.
      // Those a bail stopped before are there, saying why.
      const graded = bailed(options.testNamePattern ? run.tests.filter((t) => t.status !== 'skipped' || t.error === NOT_REACHED) : run.tests, options.bail);
      tests.push(...graded.map((t) => ({ ...t, profile: step.link.name })));
      graderErrors.push(...run.graderErrors);
      // An independent stage neither needs the stages before it nor holds back those after it.
      for (const test of graded) if (test.status !== 'passed' && test.stage !== undefined && !independent(test.stage)) failed.add(test.stage);
    }
  } finally {
    live?.end();
  }
  const relayFidelity = exercise.manifest.transport === 'udp' ? 'datagram' : 'stream';
  const impairment: ImpairmentReport = { backend: prepared.backend, fidelity: prepared.backend === 'relay' ? relayFidelity : 'packet', seed, profiles };
  // The built-in hidden suite must carry the manifest's points exactly; visible tests, a filtered
  // run or an instructor's own suite (--suite) score by the points their tests carry.
  const report = scoreRun(
    manifest,
    { tests, graderErrors },
    { ...frame(prepared.runtime, prepared.notices), impairment },
    !options.visible && !options.testNamePattern && !options.suite,
    notRun,
  );
  return { ...report, timings: { phases: {}, runs } };
}

/** The artifacts folder, absolute (test workers have their own working folder), made if missing. */
async function artifactsFolder(dir: string): Promise<string> {
  if (dir === '') throw new ConfigError('--artifacts needs a folder');
  const absolute = path.resolve(dir);
  try {
    await mkdir(absolute, { recursive: true });
  } catch (error) {
    throw new ConfigError(`--artifacts ${dir}: cannot make that folder: ${(error as Error).message}`);
  }
  if (!(await isDirectory(absolute))) throw new ConfigError(`--artifacts ${dir} is not a folder`);
  return absolute;
}

/**
 * Under --bail, the tests a run skipped after its first failure, each saying so: a test left out
 * of a stage the learner sees failing must not look like one that was never written.
 */
function bailed(tests: readonly TestOutcome[], bail: boolean | undefined): readonly TestOutcome[] {
  const first = bail ? tests.find((t) => t.status === 'failed') : undefined;
  if (!first) return tests;
  return tests.map((t) =>
    t.status === 'skipped' && t.error === NOT_REACHED
      ? { ...t, error: `not run: --bail stopped stage ${first.stage ?? '?'} at its first failure ("${first.name}"); grade without --bail to run it` }
      : t,
  );
}

/** One vitest run: files of one or more stages under one link. */
interface Step {
  readonly stages: readonly number[];
  readonly link: LinkSpec;
  readonly files: string[];
}

/**
 * Which files run under which profile, in what order: a file `NN-name.test.ts` belongs to stage
 * NN and runs once under each of that stage's profiles; `--profile` puts every file under one
 * profile; visible tests run on a clean link unless one is asked for. With `--all`, one run per
 * profile (fewest runner starts); without, or with `--bail` (whose first failure ends a run), one
 * per stage and profile, in stage order, so the grade can stop after the first stage that fails.
 */
async function planSteps(exercise: Exercise, suiteDir: string, options: GradeOptions, selected?: ReadonlySet<number>): Promise<Step[]> {
  const stageOf = (file: string) => Number(/^(\d+)-/.exec(path.basename(file))?.[1]);
  const files = (await readdir(suiteDir, { recursive: true }))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => !selected || selected.has(stageOf(f)))
    .sort();
  if (files.length === 0) throw new ConfigError(`no *.test.ts files${selected ? ` of stages ${[...selected].join(', ')}` : ''} in ${suiteDir}`);
  const override = options.profile ?? (options.visible ? 'clean' : undefined);
  const steps = new Map<string, { stages: Set<number>; link: string; files: string[] }>();
  for (const file of files) {
    const stage = stageOf(file);
    const names = override ? [override] : (exercise.manifest.stages.find((s) => s.stage === stage)?.profiles ?? ['clean']);
    for (const name of names) {
      const key = options.all && !options.bail ? name : `${stage}\0${name}`;
      const step = steps.get(key) ?? { stages: new Set<number>(), link: name, files: [] };
      step.stages.add(stage);
      step.files.push(file);
      steps.set(key, step);
    }
  }
  return [...steps.values()].map((step) => ({ stages: [...step.stages], link: loadProfile(step.link), files: step.files }));
}

/** `1-3,6` → {1, 2, 3, 6}; every stage must be one the manifest has. */
export function parseStages(spec: string, manifest: Exercise['manifest']): Set<number> {
  const stages = new Set<number>();
  for (const part of spec.split(',')) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!range) throw new ConfigError(`--stages takes numbers and ranges like 1-3,6, not "${spec}"`);
    const from = Number(range[1]);
    const to = Number(range[2] ?? range[1]);
    for (let stage = from; stage <= to; stage++) {
      if (!manifest.stages.some((s) => s.stage === stage))
        throw new ConfigError(`${manifest.id} has no stage ${stage} (it has 1 to ${manifest.stages.length})`);
      stages.add(stage);
    }
  }
  if (stages.size === 0) throw new ConfigError(`--stages selects no stage: "${spec}"`);
  return stages;
}

import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { BackendChoice } from '../impairment/backend-commands.ts';
import { describeCalibration, type Calibration } from '../impairment/calibrate.ts';
import { isCleanLink, loadProfile, type LinkSpec } from '../impairment/profile.ts';
import { findExercise, isDirectory, type Exercise } from '../catalog/catalog.ts';
import { resolveSubmission } from '../build/submission.ts';
import { CalibrationError, ConfigError, SubmissionBuildError } from '../errors.ts';
import type { BuildMode } from '../images/ensure-image.ts';
import { notice } from '../log.ts';
import { buildFailureReport, scoreRun, type GradeReport, type ImpairmentReport } from '../report/grade-report.ts';
import { StartedRun, type RuntimeChoice } from '../runner/start-run.ts';
import { runSuite } from '../runner/run-suite.ts';
import type { TestOutcome } from '../runner/outcome.ts';
import type { Lifetime } from '../lifetime.ts';

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
  readonly testNamePattern?: string;
  /** Only these stages, as written on the command line: `1-3`, `2,5`, `1-3,6`. */
  readonly stages?: string;
  /** Holds the run, so that a signal disposes of it. */
  readonly lifetime: Lifetime;
  readonly progress?: boolean;
}

function submissionDir(exercise: Exercise, options: GradeOptions): string {
  if (options.solution && options.submission) throw new ConfigError('use either --solution or --submission, not both');
  if (options.solution) return exercise.solutionDir;
  return options.submission ? path.resolve(options.submission) : exercise.exerciseDir;
}

function printProgress(outcome: TestOutcome, profile: string): void {
  const mark = outcome.status === 'passed' ? '✓' : outcome.status === 'failed' ? '✗' : '-';
  const link = profile === 'clean' ? '' : ` [${profile}]`;
  process.stderr.write(`  ${mark} stage ${outcome.stage ?? '?'} ${outcome.name}${link} (${outcome.durationMs} ms)\n`);
}

/** Builds and grades a submission against an exercise's hidden suite (or its visible tests). */
export async function grade(options: GradeOptions): Promise<GradeReport> {
  const startedAt = new Date();
  const exercise = await findExercise(options.exercise);
  const suiteDir = path.resolve(options.suite ?? (options.visible ? exercise.visibleTestDir : exercise.suiteDir));
  if (!(await isDirectory(suiteDir))) throw new ConfigError(`test suite folder ${suiteDir} does not exist`);
  const submission = await resolveSubmission(submissionDir(exercise, options));
  const frame = (runtime: GradeReport['runtime'], notices: string[]) => ({
    schemaVersion: 1 as const,
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
  const groups = await profileGroups(exercise, suiteDir, options, selected);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
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
      },
      options.lifetime,
    );
  } catch (error) {
    if (!(error instanceof SubmissionBuildError)) throw error;
    const runtime = { kind: options.runtime === 'local' ? 'local' : 'docker', version: '', isolated: false } as const;
    return buildFailureReport(exercise.manifest, `${error.message}\n${error.output}`, frame(runtime, []));
  }
  if (options.progress) notice(`grading ${path.relative(process.cwd(), submission.dir) || '.'} against ${exercise.manifest.id} on the ${prepared.runtime.kind} runtime, impairments by ${prepared.backend}`);
  // The UDP relay loses, duplicates and reorders datagrams itself; only the TCP one cannot.
  if (prepared.backend === 'relay' && exercise.manifest.transport === 'tcp' && groups.some((g) => !isCleanLink(g.link))) {
    const message = 'the local runtime impairs through a TCP relay: delay, jitter, rate, small segments and stalls, but no packet loss, duplication or reordering (those need Docker)';
    notice(message);
    prepared.notices.push(message);
  }
  try {
    return await gradeOn(prepared, exercise, manifest, suiteDir, groups, seed, frame, options);
  } finally {
    await prepared.dispose();
    options.lifetime.release(prepared);
  }
}

async function gradeOn(
  prepared: StartedRun,
  exercise: Exercise,
  manifest: Exercise['manifest'],
  suiteDir: string,
  groups: readonly ProfileGroup[],
  seed: number,
  frame: (runtime: GradeReport['runtime'], notices: string[]) => Omit<GradeReport, 'status' | 'points' | 'maxPoints' | 'stages' | 'tests' | 'graderErrors' | 'buildError'>,
  options: GradeOptions,
): Promise<GradeReport> {
  const tests: TestOutcome[] = [];
  const graderErrors: string[] = [];
  const profiles: ImpairmentReport['profiles'][number][] = [];
  for (const group of groups) {
    let calibration: Calibration | undefined;
    if (!isCleanLink(group.link)) {
      if (options.progress) notice(`calibrating the ${group.link.name} profile on ${prepared.backend}...`);
      calibration = await prepared.calibrate(group.link);
      if (!calibration.ok) {
        throw new CalibrationError(`the ${group.link.name} link measured outside its profile (${calibration.attempts === 1 ? 'once' : `${calibration.attempts} times`}), so no test ran under it:\n${describeCalibration(calibration)}`);
      }
    }
    profiles.push({ name: group.link.name, files: group.files, ...(calibration ? { calibration } : {}) });
    const run = await runSuite({
      suiteDir,
      files: group.files,
      context: { ...prepared.context, impairment: { backend: prepared.backend, link: group.link, seed } },
      testNamePattern: options.testNamePattern,
      run: prepared,
      onTest: options.progress ? (outcome) => printProgress(outcome, group.link.name) : undefined,
    });
    // -t leaves the tests it filtered out as skipped; they were not graded, so not reported.
    const graded = options.testNamePattern ? run.tests.filter((t) => t.status !== 'skipped') : run.tests;
    tests.push(...graded.map((t) => ({ ...t, profile: group.link.name })));
    graderErrors.push(...run.graderErrors);
  }
  const relayFidelity = exercise.manifest.transport === 'udp' ? 'datagram' : 'stream';
  const impairment: ImpairmentReport = { backend: prepared.backend, fidelity: prepared.backend === 'relay' ? relayFidelity : 'packet', seed, profiles };
  // The built-in hidden suite must carry the manifest's points exactly; visible tests, a filtered
  // run or an instructor's own suite (--suite) score by the points their tests carry.
  return scoreRun(manifest, { tests, graderErrors }, { ...frame(prepared.runtime, prepared.notices), impairment }, !options.visible && !options.testNamePattern && !options.suite);
}

interface ProfileGroup {
  readonly link: LinkSpec;
  readonly files: string[];
}

/**
 * Which files run under which profile: a file `NN-name.test.ts` belongs to stage NN and runs
 * once under each of that stage's profiles; `--profile` puts every file under one profile;
 * visible tests run on a clean link unless one is asked for.
 */
async function profileGroups(exercise: Exercise, suiteDir: string, options: GradeOptions, selected?: ReadonlySet<number>): Promise<ProfileGroup[]> {
  const stageOf = (file: string) => Number(/^(\d+)-/.exec(path.basename(file))?.[1]);
  const files = (await readdir(suiteDir, { recursive: true }))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => !selected || selected.has(stageOf(f)))
    .sort();
  if (files.length === 0) throw new ConfigError(`no *.test.ts files${selected ? ` of stages ${[...selected].join(', ')}` : ''} in ${suiteDir}`);
  const override = options.profile ?? (options.visible ? 'clean' : undefined);
  const groups = new Map<string, string[]>();
  for (const file of files) {
    const stage = stageOf(file);
    const names = override ? [override] : (exercise.manifest.stages.find((s) => s.stage === stage)?.profiles ?? ['clean']);
    for (const name of names) groups.set(name, [...(groups.get(name) ?? []), file]);
  }
  return [...groups].map(([name, groupFiles]) => ({ link: loadProfile(name), files: groupFiles }));
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
      if (!manifest.stages.some((s) => s.stage === stage)) throw new ConfigError(`${manifest.id} has no stage ${stage} (it has 1 to ${manifest.stages.length})`);
      stages.add(stage);
    }
  }
  if (stages.size === 0) throw new ConfigError(`--stages selects no stage: "${spec}"`);
  return stages;
}

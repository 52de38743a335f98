import { createHash } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { contentHash } from '../build/content-hash.ts';
import { findExercise, requireHiddenSuite } from '../catalog/catalog.ts';
import { ConfigError, GraderError, NotASubmissionError } from '../errors.ts';
import type { BackendChoice } from '../impairment/backend-commands.ts';
import type { BuildMode } from '../images/ensure-image.ts';
import type { GradeReport } from '../report/grade-report.ts';
import {
  GRADEBOOK_CSV,
  GRADEBOOK_FILE,
  gradebookCsv,
  inNameOrder,
  gradebookRowSchema,
  gradebookSchema,
  type Gradebook,
  type GradebookRow,
} from '../report/gradebook.ts';
import { render, reporterExtension, type ReporterName } from '../report/reporters.ts';
import { visibleLine } from '../sanitize.ts';
import type { Lifetime } from '../lifetime.ts';
import { graderVersion } from '../version.ts';
import { BatchProgress, type ProgressEntry } from './batch-progress.ts';
import { grade, parseStages } from './grade.ts';

/** `--shard 2/4`: the second of four parts of the class. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export interface BatchOptions {
  readonly exercise: string;
  readonly submissions: readonly string[];
  readonly runtime: string;
  /** The formats of each submission's report files (the first one's file is the entry's `report`). */
  readonly reporters: readonly ReporterName[];
  /** Reports, result files and the gradebook go here, each submission's named after its folder. */
  readonly outputDir?: string;
  readonly profile?: string;
  readonly impairment: BackendChoice;
  readonly seed?: number;
  readonly buildMode: BuildMode;
  readonly allowBases?: readonly string[];
  /** Only the submissions of this shard (by name, so stable as submissions are added). */
  readonly shard?: Shard;
  /** Skip a submission whose result file in outputDir has the same fingerprint. */
  readonly resume?: boolean;
  /** Submissions graded at once (default 1); at most the machine's cores (see parseJobs). */
  readonly jobs?: number;
  /** Only these stages (`1-3`): a class graded on what the course has covered so far. */
  readonly stages?: string;
  /** Failed tests' artifacts (`--artifacts DIR`), a folder per submission in it. */
  readonly artifacts?: string;
  /** Holds the run being graded now, for Ctrl-C. */
  readonly lifetime: Lifetime;
  /** Grades one submission: the sandboxed grade, unless a test stands in for it. */
  readonly gradeOne?: (submission: string, seed: number) => Promise<GradeReport>;
}

interface BatchEntry extends ProgressEntry {
  /** Its first report file. */
  readonly report?: string;
}

export interface BatchSummary {
  readonly exercise: string;
  readonly seed: number;
  readonly shard?: Shard;
  readonly submissions: readonly BatchEntry[];
  /** The gradebook's file, when the batch has an output folder. */
  readonly gradebook?: string;
}

/** Which shard of `count` a submission named `name` falls in (1-based): by its name's hash, so adding a submission moves no other. */
export function shardOf(name: string, count: number): number {
  return (createHash('sha256').update(name).digest().readUInt32BE(0) % count) + 1;
}

/** `2/4` → { index: 2, count: 4 }. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count)
    throw new ConfigError(`--shard takes INDEX/COUNT with 1 <= INDEX <= COUNT, e.g. --shard 2/4, not "${text}"`);
  return { index, count };
}

const resultFile = (outputDir: string, name: string) => path.join(outputDir, `${name}.result.json`);

/** A submission's report files in the output folder; two reporters of one extension (json, exercism, gradescope) get the reporter's name in theirs. */
function reportFiles(name: string, reporters: readonly ReporterName[]): string[] {
  const extensions = reporters.map(reporterExtension);
  return reporters.map((reporter, i) => {
    const extension = extensions[i]!;
    return extensions.indexOf(extension) === extensions.lastIndexOf(extension) ? `${name}.${extension}` : `${name}.${reporter}.${extension}`;
  });
}

/**
 * Folder names are the students': "alice.result" would write its report over alice's result
 * file, "gradebook" over the batch's gradebook. Every file the batch will write is claimed up
 * front, case-insensitively (macOS and Windows folders are), and a second claim is refused.
 */
function refuseClashes(names: readonly string[], reporters: readonly ReporterName[]): void {
  const owners = new Map<string, string>([GRADEBOOK_FILE, GRADEBOOK_CSV].map((file) => [file.toLowerCase(), 'the batch itself']));
  for (const name of names) {
    for (const file of [...reportFiles(name, reporters), `${name}.result.json`]) {
      const owner = owners.get(file.toLowerCase());
      if (owner !== undefined) {
        throw new ConfigError(
          `submission "${visibleLine(name)}" would write ${visibleLine(file)}, which ${owner === 'the batch itself' ? 'the batch writes itself' : `submission "${visibleLine(owner)}" writes`}: rename one of the folders`,
        );
      }
      owners.set(file.toLowerCase(), name);
    }
  }
}

/** Written whole or not at all: a batch killed mid-write leaves the previous file, never half of one. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

async function readRow(file: string): Promise<GradebookRow | undefined> {
  try {
    return gradebookRowSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/**
 * The seed of an earlier batch into the same folder, so a resumed class meets the same network
 * decisions: its gradebook's, or, when that batch was stopped before writing one, a result file's.
 */
async function earlierSeed(outputDir: string): Promise<number | undefined> {
  try {
    return gradebookSchema.parse(JSON.parse(await readFile(path.join(outputDir, GRADEBOOK_FILE), 'utf8'))).seed;
  } catch {
    const results = (await readdir(outputDir).catch(() => [])).filter((f) => f.endsWith('.result.json')).sort();
    for (const file of results) {
      const row = await readRow(path.join(outputDir, file));
      if (row) return row.seed;
    }
    return undefined;
  }
}

/**
 * Grades many submissions (a class, a workshop's teams), `jobs` at a time (default one after
 * another). Other people's code runs only in the sandbox: the local runtime is refused, and so
 * is falling back to it. Every submission meets the same seed, so the same impairment decisions. With an output folder, each
 * submission leaves its reports and a result file (its gradebook row, written as soon as it is
 * graded), and the batch a gradebook (JSON and CSV) of its shard.
 */
export async function gradeBatch(options: BatchOptions): Promise<BatchSummary> {
  if (options.runtime !== 'docker' && options.runtime !== 'auto') {
    throw new ConfigError(
      `batch mode grades other people's code, so it runs it only sandboxed, in containers; --runtime ${options.runtime} would run it unsandboxed on this machine`,
    );
  }
  if (options.submissions.length === 0) throw new ConfigError('usage: netkata batch <exercise> <submission-dir>...');
  const { outputDir } = options;
  if ((options.resume || options.shard) && !outputDir)
    throw new ConfigError(`${options.resume ? '--resume' : '--shard'} keeps each submission's result in a folder: name it with --output DIR`);
  const all = options.submissions.map((s) => ({ submission: s, name: path.basename(path.resolve(s)) }));
  const duplicate = all.find((s, i) => all.findIndex((t) => t.name === s.name) !== i);
  if (duplicate && outputDir) throw new ConfigError(`two submissions are named "${duplicate.name}"; their reports would overwrite each other`);
  if (outputDir)
    refuseClashes(
      all.map((s) => s.name),
      options.reporters,
    );
  const jobs = options.jobs ?? 1;
  const mine = options.shard ? all.filter((s) => shardOf(s.name, options.shard!.count) === options.shard!.index) : all;
  if (outputDir) await mkdir(outputDir, { recursive: true });
  const seed = options.seed ?? (options.resume && outputDir ? await earlierSeed(outputDir) : undefined) ?? Math.floor(Math.random() * 2 ** 31);
  const exercise = await findExercise(options.exercise);
  const selected = options.stages === undefined ? undefined : parseStages(options.stages, exercise.manifest);
  const stages = exercise.manifest.stages.filter((s) => !selected || selected.has(s.stage));
  const suite = await contentHash(await requireHiddenSuite(exercise));
  const gradeOne =
    options.gradeOne ??
    ((submission: string, seedOfRun: number) =>
      grade({
        ...(options.artifacts !== undefined && { artifacts: path.join(options.artifacts, path.basename(path.resolve(submission))) }),
        exercise: options.exercise,
        submission,
        runtime: 'docker',
        buildMode: options.buildMode,
        ...(options.allowBases && { allowBases: options.allowBases }),
        // An instructor's class: every stage is graded, so partial credit is there to see.
        all: true,
        ...(options.stages !== undefined && { stages: options.stages }),
        profile: options.profile,
        impairment: options.impairment,
        seed: seedOfRun,
        lifetime: options.lifetime,
        progress: false,
      }));

  /** One submission's entry and gradebook row: from an earlier run (--resume), or graded now. */
  const progress = new BatchProgress(mine.length, jobs);
  const gradeEntry = async (index: number): Promise<{ entry: BatchEntry; row: GradebookRow }> => {
    const { submission, name } = mine[index]!;
    const started = Date.now();
    const fingerprint = createHash('sha256')
      .update(
        JSON.stringify([
          exercise.manifest.id,
          graderVersion,
          seed,
          options.profile ?? null,
          options.impairment,
          stages.map((s) => s.stage),
          // Its points, profiles and limits decide the grade as much as the suite does.
          exercise.manifest,
          [...(options.allowBases ?? [])].sort(),
          suite,
          await contentHash(submission).catch(() => 'unreadable'),
        ]),
      )
      .digest('hex');
    const earlier = options.resume && outputDir ? await readRow(resultFile(outputDir, name)) : undefined;
    // A grader error is no verdict: a resumed batch grades that submission again. So it does
    // when a report this batch asks for is not there (another --reporter than last time).
    const reportsThere = async (row: GradebookRow) =>
      row.reports.length === 0 ||
      (
        await Promise.all(
          reportFiles(name, options.reporters).map((f) =>
            access(path.join(outputDir!, f)).then(
              () => true,
              () => false,
            ),
          ),
        )
      ).every(Boolean);
    if (earlier && earlier.fingerprint === fingerprint && earlier.status !== 'error' && (await reportsThere(earlier))) {
      const entry: BatchEntry = {
        submission,
        status: earlier.status,
        points: earlier.points,
        maxPoints: earlier.maxPoints,
        durationMs: earlier.durationMs,
        resumed: true,
        ...(earlier.error && { error: earlier.error }),
        ...(earlier.reports[0] && { report: path.join(outputDir!, earlier.reports[0]) }),
      };
      return { entry, row: earlier };
    }
    progress.start(index, submission);
    let entry: BatchEntry;
    let row: GradebookRow;
    try {
      const report = await gradeOne(submission, seed);
      const reports: string[] = [];
      if (outputDir) {
        for (const [i, file] of reportFiles(name, options.reporters).entries()) {
          await writeFile(path.join(outputDir, file), render(report, options.reporters[i]!));
          reports.push(file);
        }
      }
      const durationMs = Date.now() - started;
      entry = {
        submission,
        status: report.status,
        points: report.points,
        maxPoints: report.maxPoints,
        durationMs,
        ...(outputDir && reports[0] && { report: path.join(outputDir, reports[0]) }),
      };
      row = {
        submission: name,
        status: report.status,
        points: report.points,
        maxPoints: report.maxPoints,
        stages: Object.fromEntries(report.stages.map((s) => [String(s.stage), s.points])),
        seed,
        backend: report.impairment?.backend ?? null,
        graderVersion,
        durationMs,
        reports,
        fingerprint,
      };
    } catch (error) {
      // One submission the grader could not handle does not stop the class; it is reported.
      // A folder with nothing to grade is that student's failure, not the grader's.
      if (!(error instanceof GraderError)) throw error;
      if (options.lifetime.ended) throw error;
      const status = error instanceof NotASubmissionError ? 'fail' : 'error';
      const durationMs = Date.now() - started;
      const maxPoints = stages.reduce((sum, s) => sum + s.points, 0);
      entry = { submission, status, points: 0, maxPoints: 0, durationMs, error: error.message };
      row = {
        submission: name,
        status,
        points: 0,
        maxPoints,
        stages: {},
        seed,
        backend: null,
        graderVersion,
        durationMs,
        reports: [],
        fingerprint,
        error: visibleLine(error.message),
      };
    }
    if (outputDir) await writeAtomically(resultFile(outputDir, name), `${JSON.stringify(row, null, 2)}\n`);
    return { entry, row };
  };

  // `jobs` workers take the next submission in turn; the summary and gradebook keep the
  // submissions' order whatever order the grades finish in.
  const graded = new Array<{ entry: BatchEntry; row: GradebookRow }>(mine.length);
  let next = 0;
  const worker = async () => {
    while (next < mine.length && !options.lifetime.ended) {
      const index = next++;
      const result = await gradeEntry(index);
      graded[index] = result;
      progress.end(result.entry);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, mine.length) }, worker));
  } finally {
    progress.stop();
  }
  const entries = graded.map((g) => g.entry);
  const rows = graded.map((g) => g.row);
  let gradebook: string | undefined;
  if (outputDir) {
    const book: Gradebook = {
      schemaVersion: 1,
      exercise: exercise.manifest.id,
      seed,
      graderVersion,
      suite,
      ...(options.shard && { shard: options.shard }),
      stages: stages.map((s) => ({ stage: s.stage, title: s.title, maxPoints: s.points })),
      rows: inNameOrder(rows),
    };
    gradebook = path.join(outputDir, GRADEBOOK_FILE);
    await writeGradebook(outputDir, book);
  }
  return { exercise: options.exercise, seed, ...(options.shard && { shard: options.shard }), submissions: entries, ...(gradebook && { gradebook }) };
}

/** gradebook.json and gradebook.csv into a folder. */
export async function writeGradebook(dir: string, book: Gradebook): Promise<void> {
  await writeAtomically(path.join(dir, GRADEBOOK_FILE), `${JSON.stringify(gradebookSchema.parse(book), null, 2)}\n`);
  await writeAtomically(path.join(dir, GRADEBOOK_CSV), gradebookCsv(book));
}

/** The class's table. Folder names and error messages may come from students: one visible line each. */
export function renderBatch(summary: BatchSummary): string {
  const rows = summary.submissions.map((e) => ({
    ...e,
    submission: visibleLine(e.submission, 200),
    error: e.error === undefined ? undefined : visibleLine(e.error),
  }));
  const width = Math.max(10, ...rows.map((e) => e.submission.length));
  const shard = summary.shard ? `, shard ${summary.shard.index}/${summary.shard.count}` : '';
  const lines = [`${visibleLine(summary.exercise)}, seed ${summary.seed}${shard}`, `${'submission'.padEnd(width)}  status  points`];
  for (const e of rows) {
    lines.push(
      `${e.submission.padEnd(width)}  ${e.status.padEnd(6)}  ${e.error ? `- (${e.error})` : `${e.points}/${e.maxPoints}`}${e.resumed ? '  (resumed)' : ''}`,
    );
  }
  if (summary.gradebook) lines.push(`gradebook: ${visibleLine(summary.gradebook)} (and .csv)`);
  return `${lines.join('\n')}\n`;
}

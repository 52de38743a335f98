import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, GraderError, NotASubmissionError } from '../errors.ts';
import type { BackendChoice } from '../impairment/backend-commands.ts';
import type { BuildMode } from '../images/ensure-image.ts';
import { notice } from '../log.ts';
import { render, type ReporterName } from '../report/reporters.ts';
import { visibleLine } from '../sanitize.ts';
import type { Lifetime } from '../lifetime.ts';
import { grade } from './grade.ts';

export interface BatchOptions {
  readonly exercise: string;
  readonly submissions: readonly string[];
  readonly runtime: string;
  readonly reporter: ReporterName;
  /** One report per submission goes here, named after its folder. */
  readonly outputDir?: string;
  readonly profile?: string;
  readonly impairment: BackendChoice;
  readonly seed?: number;
  readonly buildMode: BuildMode;
  readonly allowBases?: readonly string[];
  /** Holds the run being graded now, for Ctrl-C. */
  readonly lifetime: Lifetime;
}

interface BatchEntry {
  readonly submission: string;
  readonly status: 'pass' | 'fail' | 'error';
  readonly points: number;
  readonly maxPoints: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly report?: string;
}

export interface BatchSummary {
  readonly exercise: string;
  readonly seed: number;
  readonly submissions: readonly BatchEntry[];
}

/**
 * Grades many submissions (a class, a workshop's teams) one after another. Other people's code
 * runs only in the sandbox: the local runtime is refused, and so is falling back to it.
 * One after another, not in parallel: timing tests on two cores must not compete. Every
 * submission meets the same seed, so the same impairment decisions.
 */
export async function gradeBatch(options: BatchOptions): Promise<BatchSummary> {
  if (options.runtime !== 'docker' && options.runtime !== 'auto') {
    throw new ConfigError(
      `batch mode grades other people's code, so it runs it only sandboxed, in containers; --runtime ${options.runtime} would run it unsandboxed on this machine`,
    );
  }
  if (options.submissions.length === 0) throw new ConfigError('usage: netkata batch <exercise> <submission-dir>...');
  const names = options.submissions.map((s) => path.basename(path.resolve(s)));
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate && options.outputDir) throw new ConfigError(`two submissions are named "${duplicate}"; their reports would overwrite each other`);
  if (options.outputDir) await mkdir(options.outputDir, { recursive: true });
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const entries: BatchEntry[] = [];
  for (const [index, submission] of options.submissions.entries()) {
    const started = Date.now();
    notice(`[${index + 1}/${options.submissions.length}] ${submission}`);
    try {
      const report = await grade({
        exercise: options.exercise,
        submission,
        runtime: 'docker',
        buildMode: options.buildMode,
        ...(options.allowBases && { allowBases: options.allowBases }),
        // An instructor's class: every stage is graded, so partial credit is there to see.
        all: true,
        profile: options.profile,
        impairment: options.impairment,
        seed,
        lifetime: options.lifetime,
        progress: false,
      });
      let file: string | undefined;
      if (options.outputDir) {
        file = path.join(
          options.outputDir,
          `${names[index]}.${options.reporter === 'junit' ? 'xml' : options.reporter === 'pretty' || options.reporter === 'github' ? 'txt' : 'json'}`,
        );
        await writeFile(file, render(report, options.reporter));
      }
      entries.push({
        submission,
        status: report.status,
        points: report.points,
        maxPoints: report.maxPoints,
        durationMs: Date.now() - started,
        ...(file ? { report: file } : {}),
      });
    } catch (error) {
      // One submission the grader could not handle does not stop the class; it is reported.
      // A folder with nothing to grade is that student's failure, not the grader's.
      if (!(error instanceof GraderError)) throw error;
      if (options.lifetime.ended) throw error;
      entries.push({
        submission,
        status: error instanceof NotASubmissionError ? 'fail' : 'error',
        points: 0,
        maxPoints: 0,
        durationMs: Date.now() - started,
        error: error.message,
      });
    }
  }
  return { exercise: options.exercise, seed, submissions: entries };
}

/** The class's table. Folder names and error messages may come from students: one visible line each. */
export function renderBatch(summary: BatchSummary): string {
  const rows = summary.submissions.map((e) => ({
    ...e,
    submission: visibleLine(e.submission, 200),
    error: e.error === undefined ? undefined : visibleLine(e.error),
  }));
  const width = Math.max(10, ...rows.map((e) => e.submission.length));
  const lines = [`${visibleLine(summary.exercise)}, seed ${summary.seed}`, `${'submission'.padEnd(width)}  status  points`];
  for (const e of rows) {
    lines.push(`${e.submission.padEnd(width)}  ${e.status.padEnd(6)}  ${e.error ? `- (${e.error})` : `${e.points}/${e.maxPoints}`}`);
  }
  return `${lines.join('\n')}\n`;
}

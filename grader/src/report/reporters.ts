import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import type { GradeReport } from './grade-report.ts';
import { renderExercism } from './exercism.ts';
import { renderGithub, renderGithubSummary } from './github.ts';
import { renderGradescope } from './gradescope.ts';
import { renderJunit } from './junit.ts';
import { renderPretty, type PrettyOptions } from './pretty.ts';
import { visibleStrings } from '../sanitize.ts';

const REPORTERS = ['pretty', 'json', 'junit', 'exercism', 'gradescope', 'github'] as const;
export type ReporterName = (typeof REPORTERS)[number];

/** Formats read by CI systems and autograders: they grade every stage, for partial credit. */
export const CI_REPORTERS: ReadonlySet<ReporterName> = new Set(['junit', 'exercism', 'gradescope', 'github']);

/** One reporter and where its text goes: a file, or stdout when `file` is absent. */
export interface ReporterTarget {
  readonly reporter: ReporterName;
  readonly file?: string;
}

/** The file extension a reporter's text is written with when the grader names the file (batch). */
export function reporterExtension(reporter: ReporterName): string {
  return reporter === 'junit' ? 'xml' : reporter === 'pretty' || reporter === 'github' ? 'txt' : 'json';
}

/** `--reporter junit,json` for a batch, which names each submission's files itself: names only. */
export function parseReporterNames(spec: string): ReporterName[] {
  return spec.split(',').map((part) => {
    const reporter = REPORTERS.find((r) => r === part.trim());
    if (reporter) return reporter;
    if (part.includes('='))
      throw new ConfigError(`batch writes one report per submission into --output DIR: name reporters without a file, not "${part.trim()}"`);
    throw new ConfigError(`--reporter takes ${REPORTERS.join(', ')}, comma-separated, not "${part.trim()}"`);
  });
}

/**
 * `--reporter pretty,junit=out.xml,json=out.json`: several reporters in one grade, each to its
 * own file, at most one to stdout. `--output FILE` is where the one without a file goes (the
 * older single-reporter form, `--reporter junit --output out.xml`).
 */
export function parseReporters(spec: string, output?: string): ReporterTarget[] {
  const targets = spec.split(',').map((part): ReporterTarget => {
    const [name, ...file] = part.trim().split('=');
    const reporter = REPORTERS.find((r) => r === name);
    if (!reporter) throw new ConfigError(`--reporter takes ${REPORTERS.join(', ')} (each optionally =FILE, comma-separated), not "${part.trim()}"`);
    if (file.length > 0 && file.join('=') === '')
      throw new ConfigError(`--reporter ${reporter}= names no file: write ${reporter}=FILE, or ${reporter} for stdout`);
    return file.length > 0 ? { reporter, file: file.join('=') } : { reporter };
  });
  const toStdout = targets.filter((t) => t.file === undefined);
  if (toStdout.length > 1) {
    throw new ConfigError(`--reporter ${spec}: only one reporter can write to stdout; give the others a file (${toStdout[1]!.reporter}=FILE)`);
  }
  const resolved = targets.map((t) => (t.file === undefined && output !== undefined ? { ...t, file: output } : t));
  const files = resolved.flatMap((t) => (t.file === undefined ? [] : [path.resolve(t.file)]));
  const twice = files.find((f, i) => files.indexOf(f) !== i);
  if (twice) throw new ConfigError(`--reporter ${spec}: two reporters would write ${twice}`);
  return resolved;
}

/** Each reporter makes the report's text safe for its own format; json shows it as visible text too. */
export function render(report: GradeReport, reporter: ReporterName, pretty: PrettyOptions = {}): string {
  switch (reporter) {
    case 'json':
      return `${JSON.stringify(visibleStrings(report), null, 2)}\n`;
    case 'pretty':
      return renderPretty(report, pretty);
    case 'junit':
      return renderJunit(report);
    case 'exercism':
      return renderExercism(report);
    case 'gradescope':
      return renderGradescope(report);
    case 'github':
      return renderGithub(report, report.submission.kind === 'dockerfile' ? `${report.submission.path}/Dockerfile` : `${report.submission.path}/src/main.ts`);
  }
}

/**
 * Writes the report once per target: to its file, or to stdout; diagnostics never share the
 * channel. The github reporter also appends its markdown table to the job's step summary when
 * GitHub Actions names one (GITHUB_STEP_SUMMARY).
 */
export async function writeReports(report: GradeReport, targets: readonly ReporterTarget[], pretty: Omit<PrettyOptions, 'color'> = {}): Promise<void> {
  for (const { reporter, file } of targets) {
    if (file) await writeFile(file, render(report, reporter, pretty));
    else process.stdout.write(render(report, reporter, { ...pretty, color: process.stdout.isTTY === true && !process.env.NO_COLOR }));
    const summary = process.env.GITHUB_STEP_SUMMARY;
    if (reporter === 'github' && summary) await appendFile(summary, renderGithubSummary(report));
  }
}

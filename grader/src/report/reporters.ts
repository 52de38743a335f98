import { writeFile } from 'node:fs/promises';
import type { GradeReport } from './grade-report.ts';
import { renderExercism } from './exercism.ts';
import { renderGithub } from './github.ts';
import { renderJunit } from './junit.ts';
import { renderPretty, type PrettyOptions } from './pretty.ts';
import { visibleStrings } from '../sanitize.ts';

export const REPORTERS = ['pretty', 'json', 'junit', 'exercism', 'github'] as const;
export type ReporterName = (typeof REPORTERS)[number];

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
    case 'github':
      return renderGithub(report, report.submission.kind === 'dockerfile' ? `${report.submission.path}/Dockerfile` : `${report.submission.path}/src/main.ts`);
  }
}

/** Writes the report to stdout (the default) or a file; diagnostics never share the channel. */
export async function writeReport(report: GradeReport, reporter: ReporterName, output?: string, pretty: Omit<PrettyOptions, 'color'> = {}): Promise<void> {
  if (output) await writeFile(output, render(report, reporter, pretty));
  else process.stdout.write(render(report, reporter, { ...pretty, color: process.stdout.isTTY === true && !process.env.NO_COLOR }));
}

import type { GradeReport } from './grade-report.ts';
import { visibleLine, visibleStrings, xmlAttribute, xmlText } from '../sanitize.ts';

/**
 * JUnit XML, what CI systems (GitLab, Jenkins, GitHub test reporters) read: one testsuite per
 * stage, one testcase per test and profile, the transcript and server output on failures.
 * Every value goes through xmlText/xmlAttribute: characters XML 1.0 cannot carry (controls,
 * U+FFFE/U+FFFF, lone surrogates) appear as visible escapes, so the file always parses.
 */
export function renderJunit(untrusted: GradeReport): string {
  const report = visibleStrings(untrusted);
  const attr = (text: string) => xmlAttribute(visibleLine(text));
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const failures = report.tests.filter((t) => t.status === 'failed').length + (report.buildError ? 1 : 0);
  out.push(
    `<testsuites name="netkata ${attr(report.exercise.id)}" tests="${report.tests.length}" failures="${failures}" errors="${report.graderErrors.length}" time="${(report.durationMs / 1000).toFixed(3)}">`,
  );
  if (report.buildError) {
    out.push(
      `  <testsuite name="build" tests="1" failures="1"><testcase classname="${attr(report.exercise.id)}.build" name="the submission builds"><failure message="the submission does not build">${xmlText(report.buildError)}</failure></testcase></testsuite>`,
    );
  }
  for (const stage of report.stages) {
    const tests = report.tests.filter((t) => t.stage === stage.stage);
    const failed = tests.filter((t) => t.status === 'failed').length;
    if (stage.status === 'not-run') {
      out.push(`  <testsuite name="stage ${stage.stage}: ${attr(stage.title)}" tests="1" failures="0" skipped="1">`);
      out.push(
        `    <testcase classname="${attr(report.exercise.id)}.stage${stage.stage}" name="stage ${stage.stage}" time="0"><skipped message="not run: stage ${stage.blockedBy} failed first (--all runs every stage)"/></testcase>`,
        '  </testsuite>',
      );
      continue;
    }
    out.push(
      `  <testsuite name="stage ${stage.stage}: ${attr(stage.title)}" tests="${tests.length}" failures="${failed}" skipped="${tests.filter((t) => t.status === 'skipped').length}">`,
    );
    for (const test of tests) {
      const name = test.profile && test.profile !== 'clean' ? `${test.name} [${test.profile}]` : test.name;
      const open = `    <testcase classname="${attr(report.exercise.id)}.stage${stage.stage}" name="${attr(name)}" time="${(test.durationMs / 1000).toFixed(3)}"`;
      if (test.status === 'passed') {
        out.push(`${open}/>`);
      } else if (test.status === 'skipped') {
        out.push(`${open}><skipped/></testcase>`);
      } else {
        const details = [test.error, test.transcript && `transcript:\n${test.transcript}`, test.serverLog && `server output:\n${test.serverLog}`]
          .filter(Boolean)
          .join('\n\n');
        out.push(
          `${open}><failure message="${attr((test.error ?? 'failed').split('\n')[0]!)}">${xmlText(details, { maxLines: Number.MAX_SAFE_INTEGER })}</failure></testcase>`,
        );
      }
    }
    out.push('  </testsuite>');
  }
  for (const error of report.graderErrors) {
    out.push(
      `  <testsuite name="grader" tests="1" errors="1"><testcase classname="netkata" name="grader error"><error message="${attr(error.split('\n')[0]!)}">${xmlText(error)}</error></testcase></testsuite>`,
    );
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

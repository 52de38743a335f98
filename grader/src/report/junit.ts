import os from 'node:os';
import type { GradeReport } from './grade-report.ts';
import { visibleLine, visibleStrings, xmlAttribute, xmlText } from '../sanitize.ts';

/** What a CI dashboard shows beside the tests: how this grade was made, so it can be made again. */
function runProperties(report: GradeReport): Array<[string, string]> {
  const impairment = report.impairment;
  return [
    ['netkata.exercise', report.exercise.id],
    ['netkata.submission', report.submission.path],
    ['netkata.status', report.status],
    ['netkata.points', `${report.points}/${report.maxPoints}`],
    ...(report.graderVersion ? ([['netkata.version', report.graderVersion]] as Array<[string, string]>) : []),
    ['netkata.runtime', `${report.runtime.kind} ${report.runtime.version}${report.runtime.isolated ? ', isolated' : ', not isolated'}`],
    ...(impairment
      ? ([
          ['netkata.seed', String(impairment.seed)],
          ['netkata.backend', impairment.backend],
          ['netkata.fidelity', impairment.fidelity],
          ['netkata.profile', impairment.profiles.map((p) => p.name).join(',')],
        ] as Array<[string, string]>)
      : []),
    ['netkata.startedAt', report.startedAt],
  ];
}

/**
 * JUnit XML, what CI systems (GitLab, Jenkins, GitHub test reporters) read, in the shape of
 * Jenkins' JUnit schema (the test checks it with the XSD): one testsuite per stage, with the
 * run's properties (seed, backend, profile, runtime), its timestamp and time; one testcase per
 * test and profile; on a failure, the error and transcript in the failure and the submission's
 * output as the testcase's system-out; the grade's notices as each suite's system-out.
 * Every value goes through xmlText/xmlAttribute: characters XML 1.0 cannot carry (controls,
 * U+FFFE/U+FFFF, lone surrogates) appear as visible escapes, so the file always parses.
 */
export function renderJunit(untrusted: GradeReport): string {
  const report = visibleStrings(untrusted);
  const attr = (text: string) => xmlAttribute(visibleLine(text));
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  // Ant's form (no zone, no fraction) is the one every reader parses; it is UTC, and the exact
  // instant is the netkata.startedAt property.
  const suiteAttributes = `timestamp="${report.startedAt.slice(0, 19)}" hostname="${attr(os.hostname() || 'localhost')}"`;
  const properties = [
    '    <properties>',
    ...runProperties(report).map(([name, value]) => `      <property name="${attr(name)}" value="${attr(value)}"/>`),
    '    </properties>',
  ];
  const notices = report.notices.length > 0 ? [`    <system-out>${xmlText(report.notices.join('\n'))}</system-out>`] : [];
  const suite = (name: string, counts: string, time: number, body: string[]) => [
    `  <testsuite name="${attr(name)}" ${counts} time="${seconds(time)}" ${suiteAttributes}>`,
    ...properties,
    ...body,
    ...notices,
    '  </testsuite>',
  ];
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const failures = report.tests.filter((t) => t.status === 'failed').length + (report.buildError ? 1 : 0);
  out.push(
    `<testsuites name="netkata ${attr(report.exercise.id)}" tests="${report.tests.length}" failures="${failures}" errors="${report.graderErrors.length}" time="${seconds(report.durationMs)}">`,
  );
  if (report.buildError) {
    out.push(
      ...suite('build', 'tests="1" failures="1" errors="0" skipped="0"', 0, [
        `    <testcase classname="${attr(report.exercise.id)}.build" name="the submission builds" time="0"><failure message="the submission does not build" type="build">${xmlText(report.buildError)}</failure></testcase>`,
      ]),
    );
  }
  for (const stage of report.stages) {
    const name = `stage ${stage.stage}: ${stage.title}`;
    const classname = `${attr(report.exercise.id)}.stage${stage.stage}`;
    if (stage.status === 'not-run') {
      out.push(
        ...suite(name, 'tests="1" failures="0" errors="0" skipped="1"', 0, [
          `    <testcase classname="${classname}" name="stage ${stage.stage}" time="0"><skipped>not run: stage ${stage.blockedBy} failed first (--all runs every stage)</skipped></testcase>`,
        ]),
      );
      continue;
    }
    const tests = report.tests.filter((t) => t.stage === stage.stage);
    const counts = `tests="${tests.length}" failures="${tests.filter((t) => t.status === 'failed').length}" errors="0" skipped="${tests.filter((t) => t.status === 'skipped').length}"`;
    const cases = tests.map((test) => {
      const testName = test.profile && test.profile !== 'clean' ? `${test.name} [${test.profile}]` : test.name;
      const open = `    <testcase classname="${classname}" name="${attr(testName)}" time="${seconds(test.durationMs)}"`;
      if (test.status === 'passed') return `${open}/>`;
      // Jenkins' schema allows no attributes on <skipped>: the reason (a --bail, say) is its text.
      if (test.status === 'skipped') return `${open}>${test.error ? `<skipped>${xmlText(test.error)}</skipped>` : '<skipped/>'}</testcase>`;
      const details = [test.error, test.transcript && `transcript:\n${test.transcript}`].filter(Boolean).join('\n\n');
      const output = test.serverLog
        ? `<system-out>${xmlText(`the submission's output:\n${test.serverLog}`, { maxLines: Number.MAX_SAFE_INTEGER })}</system-out>`
        : '';
      return `${open}><failure message="${attr((test.error ?? 'failed').split('\n')[0]!)}" type="assertion">${xmlText(details, { maxLines: Number.MAX_SAFE_INTEGER })}</failure>${output}</testcase>`;
    });
    out.push(
      ...suite(
        name,
        counts,
        tests.reduce((sum, t) => sum + t.durationMs, 0),
        cases,
      ),
    );
  }
  for (const error of report.graderErrors) {
    out.push(
      ...suite('grader', 'tests="1" failures="0" errors="1" skipped="0"', 0, [
        `    <testcase classname="netkata" name="grader error" time="0"><error message="${attr(error.split('\n')[0]!)}" type="grader">${xmlText(error)}</error></testcase>`,
      ]),
    );
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

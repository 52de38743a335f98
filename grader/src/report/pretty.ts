import type { GradeReport } from './grade-report.ts';
import { quoted, visibleLine, visibleStrings, visibleText } from './sanitize.ts';

const paint = (color: boolean) => (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);

function indent(text: string, prefix: string): string {
  return text.split('\n').map((line) => prefix + line).join('\n');
}

/**
 * The learner's view: stages with points, then what failed with its transcript and hints.
 * Every string of the report is made visible first (a report read back from a file may not have
 * been), then the grader adds its own colours: the only escape sequences in the output are those.
 * What a submission said (errors quoting it, its output, build output) sits behind a `| ` gutter.
 */
export function renderPretty(untrusted: GradeReport, color: boolean): string {
  const report = visibleStrings(untrusted);
  const c = paint(color);
  const out: string[] = [];
  const isolation = report.runtime.isolated ? 'sandboxed container' : 'local process, no isolation';
  out.push(`${c(1, visibleLine(report.exercise.title))} (${visibleLine(report.exercise.id)}) — ${report.runtime.kind} runtime ${visibleLine(report.runtime.version)}, ${isolation}`);
  if (report.impairment) {
    const { backend, fidelity, seed, profiles } = report.impairment;
    const how = { packet: 'every packet, both directions', datagram: 'datagram relay, both directions', stream: 'stream relay, reduced fidelity' }[fidelity];
    out.push(`network: ${backend} backend (${how}), seed ${seed}`);
    for (const profile of profiles) {
      const calibration = profile.calibration;
      if (!calibration) continue;
      const rtt = calibration.figures.medianRttMs;
      const arrived = calibration.figures.probesArrived;
      out.push(
        `  ${visibleLine(profile.name)}: calibrated in ${(calibration.durationMs / 1000).toFixed(1)} s, median RTT ${rtt} ms` +
          (arrived === undefined ? '' : `, ${arrived}/${calibration.figures.probesSent} probes in, ${calibration.figures.repliesArrived}/${calibration.figures.repliesSent} replies back`),
      );
    }
  }
  for (const notice of report.notices) out.push(c(33, `note: ${visibleText(notice).replace(/\n/g, '\n      | ')}`));
  if (report.buildError) {
    out.push(c(31, 'Your submission does not build:'), quoted(report.buildError, '  '));
  }
  out.push('');
  for (const stage of report.stages) {
    const mark = stage.status === 'pass' ? c(32, '✓') : c(31, '✗');
    out.push(`${mark} stage ${stage.stage}: ${visibleLine(stage.title)}  ${stage.points}/${stage.maxPoints}`);
    for (const test of report.tests.filter((t) => t.stage === stage.stage && t.status !== 'passed')) {
      const link = test.profile && test.profile !== 'clean' ? ` [${visibleLine(test.profile)}]` : '';
      out.push(`    ${c(31, '✗')} ${visibleLine(test.name)}${link}${test.status === 'skipped' ? ' (skipped)' : ''}`);
      if (test.error) out.push(quoted(test.error, '        '));
      if (test.transcript) out.push('      transcript:', indent(visibleText(test.transcript), '      '));
      if (test.serverLog) out.push('      your server printed:', quoted(test.serverLog, '        '));
    }
    if (stage.hint) out.push(c(36, `    hint: ${visibleText(stage.hint).replace(/\n/g, '\n          ')}`));
  }
  for (const error of report.graderErrors) out.push(c(35, 'grader error:'), quoted(error, '  '));
  const verdict = report.status === 'pass' ? c(32, 'PASS') : report.status === 'fail' ? c(31, 'FAIL') : c(35, 'ERROR');
  out.push('', `${verdict} ${report.points}/${report.maxPoints} points in ${(report.durationMs / 1000).toFixed(1)} s`, '');
  return out.join('\n');
}

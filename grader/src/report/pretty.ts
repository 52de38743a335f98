import type { GradeReport } from './grade-report.ts';

const paint = (color: boolean) => (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);

function indent(text: string, prefix: string): string {
  return text.split('\n').map((line) => prefix + line).join('\n');
}

/** The learner's view: stages with points, then what failed with its transcript and hints. */
export function renderPretty(report: GradeReport, color: boolean): string {
  const c = paint(color);
  const out: string[] = [];
  const isolation = report.runtime.isolated ? 'sandboxed container' : 'local process, no isolation';
  out.push(`${c(1, report.exercise.title)} (${report.exercise.id}) — ${report.runtime.kind} runtime ${report.runtime.version}, ${isolation}`);
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
        `  ${profile.name}: calibrated in ${(calibration.durationMs / 1000).toFixed(1)} s, median RTT ${rtt} ms` +
          (arrived === undefined ? '' : `, ${arrived}/${calibration.figures.probesSent} probes in, ${calibration.figures.repliesArrived}/${calibration.figures.repliesSent} replies back`),
      );
    }
  }
  for (const notice of report.notices) out.push(c(33, `note: ${notice}`));
  if (report.buildError) {
    out.push(c(31, 'Your submission does not build:'), indent(report.buildError, '  '));
  }
  out.push('');
  for (const stage of report.stages) {
    const mark = stage.status === 'pass' ? c(32, '✓') : c(31, '✗');
    out.push(`${mark} stage ${stage.stage}: ${stage.title}  ${stage.points}/${stage.maxPoints}`);
    for (const test of report.tests.filter((t) => t.stage === stage.stage && t.status !== 'passed')) {
      const link = test.profile && test.profile !== 'clean' ? ` [${test.profile}]` : '';
      out.push(`    ${c(31, '✗')} ${test.name}${link}${test.status === 'skipped' ? ' (skipped)' : ''}`);
      if (test.error) out.push(indent(test.error, '        '));
      if (test.transcript) out.push('      transcript:', indent(test.transcript, '      '));
      if (test.serverLog) out.push('      your server printed:', indent(test.serverLog, '        | '));
    }
    if (stage.hint) out.push(c(36, `    hint: ${stage.hint}`));
  }
  for (const error of report.graderErrors) out.push(c(35, `grader error: ${error}`));
  const verdict = report.status === 'pass' ? c(32, 'PASS') : report.status === 'fail' ? c(31, 'FAIL') : c(35, 'ERROR');
  out.push('', `${verdict} ${report.points}/${report.maxPoints} points in ${(report.durationMs / 1000).toFixed(1)} s`, '');
  return out.join('\n');
}

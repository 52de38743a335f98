import path from 'node:path';
import type { TestArtifacts } from '../artifacts.ts';
import type { GradeReport } from './grade-report.ts';
import { quoted, visibleLine, visibleStrings, visibleText } from '../sanitize.ts';

const paint = (color: boolean) => (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

export interface PrettyOptions {
  readonly color?: boolean;
  /** Every failure in full, not just the first. */
  readonly verbose?: boolean;
  /** The command that grades this again, for the closing "next:" line: `npx netkata grade echo-server`. */
  readonly again?: string;
}

/** A failure's first line, cut to fit a terminal line: the one-line form of every failure but the first. */
function firstLine(text: string | undefined, max = 110): string {
  const line = visibleLine((text ?? '').split('\n').find((l) => l.trim() !== '') ?? '');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * The learner's view: stages with points, then what failed. The first failure is shown in full
 * (its error, transcript, the link it ran under, the program's output, the stage's hint); every
 * other one in a line, unless `verbose`; a stage a gated grade did not reach says which to fix
 * first, and the last line says what to do next.
 * Every string of the report is made visible first (a report read back from a file may not have
 * been), then the grader adds its own colours: the only escape sequences in the output are those.
 * What a submission said (errors quoting it, its output, build output) sits behind a `| ` gutter.
 */
export function renderPretty(untrusted: GradeReport, options: PrettyOptions = {}): string {
  const report = visibleStrings(untrusted);
  const c = paint(options.color === true);
  const out: string[] = [];
  const isolation = report.runtime.isolated ? 'sandboxed container' : 'local process, no isolation';
  out.push(
    `${c(1, visibleLine(report.exercise.title))} (${visibleLine(report.exercise.id)}) — ${report.runtime.kind} runtime ${visibleLine(report.runtime.version)}, ${isolation}`,
  );
  const calibrations = new Map<string, string>();
  if (report.impairment) {
    const { backend, fidelity, seed, profiles } = report.impairment;
    const how = { packet: 'every packet, both directions', datagram: 'datagram relay, both directions', stream: 'stream relay, reduced fidelity' }[fidelity];
    out.push(`network: ${backend} backend (${how}), seed ${seed}`);
    for (const profile of profiles) {
      const calibration = profile.calibration;
      if (!calibration) continue;
      const rtt = calibration.figures.medianRttMs;
      const arrived = calibration.figures.probesArrived;
      const figures =
        `median RTT ${rtt} ms` +
        (arrived === undefined
          ? ''
          : `, ${arrived}/${calibration.figures.probesSent} probes in, ${calibration.figures.repliesArrived}/${calibration.figures.repliesSent} replies back`);
      calibrations.set(profile.name, figures);
      const how = calibration.reference
        ? `re-verified in ${(calibration.durationMs / 1000).toFixed(1)} s (${calibration.probes} probes, coarser bounds; this machine's full calibration: ${calibration.reference.calibratedAt.slice(0, 16).replace('T', ' ')} UTC)`
        : `calibrated in ${(calibration.durationMs / 1000).toFixed(1)} s`;
      out.push(`  ${visibleLine(profile.name)}: ${how}, ${figures}`);
    }
  }
  for (const notice of report.notices) out.push(c(33, `note: ${visibleText(notice).replace(/\n/g, '\n      | ')}`));
  if (report.buildError) {
    out.push(c(31, 'Your submission does not build:'), quoted(report.buildError, '  '));
  }
  out.push('');
  let shownInFull = 0;
  let firstFailure: { stage: number; test: string } | undefined;
  for (const stage of report.stages) {
    if (stage.status === 'not-run') {
      out.push(c(2, `· stage ${stage.stage}: ${visibleLine(stage.title)}  not run: stage ${stage.blockedBy} first`));
      continue;
    }
    const mark = stage.status === 'pass' ? c(32, '✓') : c(31, '✗');
    const held = stage.blockedBy === undefined ? '' : c(2, ` (counts once stage ${stage.blockedBy} passes)`);
    out.push(`${mark} stage ${stage.stage}: ${visibleLine(stage.title)}  ${stage.points}/${stage.maxPoints}${held}`);
    const stageTests = report.tests.filter((t) => t.stage === stage.stage);
    for (const test of stageTests.filter((t) => t.status === 'failed')) {
      const link = test.profile && test.profile !== 'clean' ? ` [${visibleLine(test.profile)}]` : '';
      const full = options.verbose || shownInFull === 0;
      firstFailure ??= { stage: stage.stage, test: test.name };
      if (!full) {
        out.push(`    ${c(31, '✗')} ${visibleLine(test.name)}${link}: ${firstLine(test.error)}`);
        continue;
      }
      shownInFull++;
      out.push(`    ${c(31, '✗')} ${visibleLine(test.name)}${link}`);
      if (test.error) out.push(quoted(test.error, '        '));
      if (test.profile && test.profile !== 'clean')
        out.push(`      link: ${visibleLine(test.profile)}${calibrations.has(test.profile) ? ` (${calibrations.get(test.profile)})` : ''}`);
      if (test.transcript) out.push('      transcript:', indent(visibleText(test.transcript), '      '));
      if (test.serverLog) out.push('      your server printed:', quoted(test.serverLog, '        '));
      if (test.artifacts) out.push(...artifactLines(test.artifacts));
    }
    // Tests a run left out (--bail after a failure): a line each with --verbose, else one for all.
    const skipped = stageTests.filter((t) => t.status === 'skipped');
    if (options.verbose) for (const test of skipped) out.push(c(2, `    - ${visibleLine(test.name)}: ${firstLine(test.error) || 'not run'}`));
    else if (skipped.length > 0)
      out.push(c(2, `    - ${skipped.length} more not run${skipped[0]?.error?.includes('--bail') ? ' (--bail: grade without it to run them)' : ''}`));
    if (stage.hint) out.push(c(36, `    hint: ${visibleText(stage.hint).replace(/\n/g, '\n          ')}`));
  }
  for (const error of report.graderErrors) out.push(c(35, 'grader error:'), quoted(error, '  '));
  const withArtifacts = report.tests.filter((t) => t.artifacts);
  if (withArtifacts.length > 0) {
    const roots = [...new Set(withArtifacts.map((t) => path.dirname(t.artifacts!.dir)))];
    out.push(
      '',
      `artifacts of ${withArtifacts.length} failed test${withArtifacts.length === 1 ? '' : 's'}: a folder each in ${roots.map((r) => visibleLine(r)).join(', ')}`,
    );
  }
  const verdict = report.status === 'pass' ? c(32, 'PASS') : report.status === 'fail' ? c(31, 'FAIL') : c(35, 'ERROR');
  out.push('', `${verdict} ${report.points}/${report.maxPoints} points in ${(report.durationMs / 1000).toFixed(1)} s`);
  const next = nextStep(report, firstFailure, options);
  if (next) out.push(next);
  out.push('');
  return out.join('\n');
}

/** Where a failed test's artifacts are, and why any of them is missing. */
function artifactLines(artifacts: TestArtifacts): string[] {
  const files = [artifacts.transcript, artifacts.timeline, artifacts.log, artifacts.pcap].filter((f) => f !== undefined).map((f) => path.basename(f));
  return [
    `      artifacts: ${visibleLine(artifacts.dir)} (${files.map((f) => visibleLine(f)).join(', ')})`,
    ...(artifacts.missing ?? []).map((why) => `        missing ${visibleLine(why)}`),
  ];
}

/** The closing line: the one thing to do now. */
function nextStep(report: GradeReport, first: { stage: number; test: string } | undefined, options: PrettyOptions): string | undefined {
  const again = options.again ? `, then run ${visibleLine(options.again)} again` : '';
  const notRun = report.stages.some((s) => s.status === 'not-run');
  if (report.status === 'error') return "next: this is the grader's fault, not yours; run again with --debug, and report it if it stays";
  if (report.buildError) return `next: fix the build error above${again}`;
  if (report.status === 'pass') return undefined;
  const hidden = report.tests.filter((t) => t.status === 'failed').length - 1;
  const others = hidden > 0 && !options.verbose ? ` (--verbose shows the other ${hidden} failure${hidden === 1 ? '' : 's'} in full)` : '';
  if (!first) return `next: fix the failing stage above${again}`;
  return `next: make stage ${first.stage} pass, starting with "${visibleLine(first.test)}"${again}${notRun ? '; later stages run once it does (--all runs them now)' : ''}${others}`;
}

// `grade --artifacts DIR` for real: a faulty echo server graded on the docker runtime leaves, for
// its one failed test and for nothing else, a folder with the transcript, its whole output and a
// packet capture that tcpdump reads and that holds the very bytes the transcript says were sent.
// Needs a Docker engine (fails, never skips, without one). The folder names' sanitizing and the
// pcap cutting are unit-tested in artifact-files.test.ts.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DockerEngine } from '../src/runtime/docker/engine.ts';
import type { GradeReport } from '../src/report/grade-report.ts';
import { renderPretty } from '../src/report/pretty.ts';
import type { TestArtifacts } from '../src/artifacts.ts';
import { fixture, gradeJson, ownedBy } from './helpers/cli.ts';

const run = promisify(execFile);

/** The bytes of a transcript's `"..."` preview (transcript.ts's previewBytes, undone). */
function unescapePreview(quoted: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < quoted.length; i++) {
    const char = quoted[i]!;
    if (char !== '\\') {
      bytes.push(char.charCodeAt(0));
      continue;
    }
    const next = quoted[++i]!;
    if (next === 'x') {
      bytes.push(parseInt(quoted.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push({ n: 0x0a, r: 0x0d, t: 0x09 }[next] ?? next.charCodeAt(0));
  }
  return Buffer.from(bytes);
}

/** What the transcript says the test sent: each write's first bytes, as its preview shows them. */
function sentPreviews(transcript: string): Buffer[] {
  return [...transcript.matchAll(/ -> \d+ bytes? "((?:[^"\\]|\\.)*)"/g)].map((m) => unescapePreview(m[1]!));
}

/**
 * The TCP streams toward `port`, one per client port, put back together from `tcpdump -r FILE
 * -nn -X`'s hex dumps (each packet from its IPv4 header on): payloads placed by sequence number,
 * so a retransmission counts once and the order is the stream's, whatever the capture's.
 */
function streamsTo(tcpdumpX: string, port: number): Map<number, Buffer> {
  const packets: number[][] = [];
  for (const line of tcpdumpX.split('\n')) {
    const hex = /^\s+0x[0-9a-f]+:\s+([0-9a-f ]+?)(?: {2}|$)/.exec(line);
    if (!hex) {
      if (line.trim() !== '') packets.push([]);
      continue;
    }
    const current = packets.at(-1);
    if (!current) continue;
    for (const group of hex[1]!.trim().split(' ')) for (let i = 0; i < group.length; i += 2) current.push(parseInt(group.slice(i, i + 2), 16));
  }
  const connections = new Map<number, Map<number, Buffer>>();
  for (const bytes of packets) {
    const ip = Buffer.from(bytes);
    if (ip.length < 40 || ip[0]! >> 4 !== 4 || ip[9] !== 6) continue;
    const ihl = (ip[0]! & 0x0f) * 4;
    if (ip.readUInt16BE(ihl + 2) !== port) continue;
    const payload = ip.subarray(ihl + (ip[ihl + 12]! >> 4) * 4, ip.readUInt16BE(2));
    const client = ip.readUInt16BE(ihl);
    if (!connections.has(client)) connections.set(client, new Map());
    if (payload.length > 0) connections.get(client)!.set(ip.readUInt32BE(ihl + 4), payload);
  }
  const streams = new Map<number, Buffer>();
  for (const [client, bySeq] of connections) {
    const ordered = [...bySeq.entries()].sort(([a], [b]) => a - b);
    streams.set(client, Buffer.concat(ordered.map(([, payload]) => payload)));
  }
  return streams;
}

/**
 * The capture is a pcap tcpdump reads, and its client stream toward the submission is the one
 * that begins with the test's first write (an earlier test's data was sent before the test's
 * window opened) and holds the writes' first bytes as the transcript shows them, in order. A
 * test that fails while writing (its read came back wrong first) resets the connection with its
 * last writes still in the socket's buffer: those never crossed the wire, so what is missing
 * may only be a run of the last writes, and the connection must then show the reset.
 */
async function expectCaptureOfTest(artifacts: TestArtifacts): Promise<void> {
  const { stdout } = await run('/usr/bin/tcpdump', ['-r', artifacts.pcap!, '-nn', '-X'], { maxBuffer: 256 * 1024 * 1024 });
  const previews = sentPreviews(await readFile(artifacts.transcript!, 'utf8'));
  expect(previews.length).toBeGreaterThan(0);
  const streams = streamsTo(stdout, 7000);
  const matching = [...streams.entries()].filter(([, stream]) => stream.subarray(0, previews[0]!.length).equals(previews[0]!));
  expect(matching.length, "streams starting with the test's first write").toBe(1);
  const [client, sent] = matching[0]!;
  let at = 0;
  const found = previews.map((preview) => {
    const index = sent.indexOf(preview, at);
    if (index >= 0) at = index + preview.length;
    return index >= 0;
  });
  const crossed = found.indexOf(false) < 0 ? found.length : found.indexOf(false);
  expect(found.slice(crossed), "after a write that did not cross, no later one did: it is the buffer's tail").not.toContain(true);
  expect(crossed, `writes found in the capture, in order, of ${previews.length}`).toBeGreaterThanOrEqual(Math.min(previews.length, 5));
  expect(sent.length).toBeGreaterThan(1_000);
  if (crossed < previews.length) expect(stdout, 'the connection was reset with writes unsent').toMatch(new RegExp(`\\.${client} > \\S+\\.7000: Flags \\[R`));
}

describe('grade --artifacts', () => {
  let dir: string;
  let submission: string;
  let result: Awaited<ReturnType<typeof gradeJson>>;
  let report: GradeReport;
  /** The server's own line, with an escape sequence a terminal would obey and a BiDi override. */
  const hostileLine = 'echo server up \x1b[2J\u202e';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-artifacts-test-'));
    // The variant that decodes the stream as text (it fails stage 2), printing a line on start:
    // the log artifact must have it, made visible.
    submission = path.join(dir, 'submission');
    await cp(fixture('echo-server', 'bytes-as-strings'), submission, { recursive: true });
    const main = path.join(submission, 'src', 'main.ts');
    await writeFile(main, `${await readFile(main, 'utf8')}\nconsole.log(${JSON.stringify(hostileLine)});\n`);
    // Stage 1 passes (its tests must leave nothing), stage 2 stops at its first failure.
    result = await gradeJson([
      'echo-server',
      '--submission',
      submission,
      '--runtime',
      'docker',
      '--stages',
      '1-2',
      '--bail',
      '--artifacts',
      path.join(dir, 'out'),
    ]);
    report = result.report;
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the one failed test has a folder of artifacts the report names; passing tests leave none', async () => {
    expect(report.graderErrors, result.stderr).toEqual([]);
    expect(result.code, result.stderr).toBe(1);
    const failed = report.tests.filter((t) => t.status === 'failed');
    expect(failed.map((t) => t.stage)).toEqual([2]);
    const passed = report.tests.filter((t) => t.status === 'passed');
    expect(passed.length).toBeGreaterThanOrEqual(3);
    expect(report.tests.filter((t) => t.status !== 'failed' && t.artifacts)).toEqual([]);
    const artifacts = failed[0]!.artifacts!;
    expect(artifacts, 'the report names the artifacts').toBeDefined();
    expect(artifacts.missing, 'nothing missing, no packet the capture lost').toBeUndefined();
    expect(path.dirname(artifacts.dir)).toBe(path.join(dir, 'out'));
    expect([artifacts.transcript, artifacts.timeline, artifacts.log, artifacts.pcap].map((f) => f && path.relative(artifacts.dir, f))).toEqual([
      'transcript.txt',
      'timeline.html',
      'submission.log',
      'capture.pcap',
    ]);
    expect(await readdir(path.join(dir, 'out')), 'a folder for the failed test only').toEqual([path.basename(artifacts.dir)]);
    expect((await readdir(artifacts.dir)).sort()).toEqual(['capture.pcap', 'submission.log', 'timeline.html', 'transcript.txt']);
  });

  test("the transcript is the report's, the log is the whole output made visible", async () => {
    const artifacts = report.tests.find((t) => t.status === 'failed')!.artifacts!;
    const transcript = await readFile(artifacts.transcript!, 'utf8');
    expect(transcript).toContain('connected to');
    expect(sentPreviews(transcript).length).toBeGreaterThan(0);
    const timeline = await readFile(artifacts.timeline!, 'utf8');
    expect(timeline).toMatch(/^<!doctype html>/);
    expect(timeline).toContain('<div class="name" title="c1">c1</div>');
    expect(timeline).toContain('262144 bytes sent');
    const log = await readFile(artifacts.log!, 'utf8');
    expect(log).toContain('echo server up \\x1b[2J\\u202e');
    expect(log).not.toMatch(/[\x1b\u202e]/);
  });

  test('the pretty report says where they are', () => {
    const artifacts = report.tests.find((t) => t.status === 'failed')!.artifacts!;
    const text = renderPretty(report);
    expect(text).toContain(`artifacts: ${artifacts.dir} (transcript.txt, timeline.html, submission.log, capture.pcap)`);
    expect(text).toContain(`artifacts of 1 failed test: a folder each in ${path.join(dir, 'out')}`);
  });

  test('the capture is a pcap tcpdump reads, holding the bytes the transcript says the test sent', async () => {
    await expectCaptureOfTest(report.tests.find((t) => t.status === 'failed')!.artifacts!);
  });

  test('nothing of the run is left, the capture included', async () => {
    const engine = await DockerEngine.connect();
    const filters = ownedBy(result.pid);
    expect(await engine.dockerode.listContainers({ all: true, filters })).toEqual([]);
  });
});

describe('grade --artifacts behind an impaired link', () => {
  test("the capture sits beside the impairment engine: the link holds its profile and the pcap has the test's bytes", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-artifacts-test-'));
    try {
      const { code, report, stderr, pid } = await gradeJson([
        'echo-server',
        '--submission',
        fixture('echo-server', 'bytes-as-strings'),
        '--runtime',
        'docker',
        '--stages',
        '2',
        '--bail',
        '--profile',
        'lan',
        '--artifacts',
        dir,
      ]);
      // A capture that disturbed the engine would show as a link integrity fault: a grader error.
      expect(report.graderErrors, stderr).toEqual([]);
      expect(code, stderr).toBe(1);
      expect(report.impairment?.backend).not.toBe('relay');
      const failed = report.tests.filter((t) => t.status === 'failed');
      expect(failed.map((t) => t.profile)).toEqual(['lan']);
      expect(report.tests.filter((t) => t.status !== 'failed' && t.artifacts)).toEqual([]);
      expect(path.basename(failed[0]!.artifacts!.dir)).toMatch(/^stage2-.*-lan-[0-9a-f]{10}$/);
      expect(failed[0]!.artifacts!.missing, 'nothing missing, no packet the capture lost').toBeUndefined();
      await expectCaptureOfTest(failed[0]!.artifacts!);
      const engine = await DockerEngine.connect();
      expect(await engine.dockerode.listContainers({ all: true, filters: ownedBy(pid) })).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

// The parts of `grade --artifacts` that need no engine: folder names from hostile test names,
// writes that follow no planted link, and the pcap cutting. The real grade is artifacts.test.ts.
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { artifactFolderName, writeArtifactFiles } from '../src/artifacts.ts';
import { cutPcap, readPcap, writePcap, type PcapRecord } from '../src/pcap.ts';
import { renderTimelineHtml } from '../src/harness/timeline-html.ts';
import { Transcript } from '../src/harness/transcript.ts';

const HOSTILE_NAMES = [
  '../../../../etc/passwd',
  '/etc/cron.d/x',
  '..',
  '.',
  '',
  '.hidden',
  'a\\..\\..\\windows',
  'clear \x1b[2J\x1b]52;c;aGk=\x07 screen',
  'bidi \u202egnp.exe',
  'nul\0byte',
  'new\nline\r\ttab',
  'é'.repeat(500),
  'x'.repeat(100_000),
  '-rf --no-preserve-root',
];

describe('artifactFolderName', () => {
  test.each(HOSTILE_NAMES)('%j stays one bounded, plain folder inside the artifacts folder', (name) => {
    for (const profile of ['clean', '../wan', '\x1b[31m']) {
      const folder = artifactFolderName({ file: '../01-x.test.ts', name, stage: 2, profile });
      expect(folder).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/);
      expect(folder.length).toBeLessThanOrEqual(100);
      expect(folder).not.toContain('..');
      const root = path.resolve('/srv/artifacts');
      expect(path.dirname(path.resolve(root, folder))).toBe(root);
    }
  });

  test('tests whose names read alike after cleaning get folders of their own', () => {
    const names = ['a/b', 'a\\b', 'a b', 'a\x1bb', 'a-b', `${'x'.repeat(200)}1`, `${'x'.repeat(200)}2`];
    const folders = names.map((name) => artifactFolderName({ file: 'f.test.ts', name, stage: 1, profile: 'clean' }));
    expect(new Set(folders).size).toBe(names.length);
    // The same test under two profiles, in two files, or of two stages: each its own.
    const variants = [
      artifactFolderName({ file: 'f.test.ts', name: 'n', stage: 1, profile: 'wan' }),
      artifactFolderName({ file: 'f.test.ts', name: 'n', stage: 1, profile: 'lossy' }),
      artifactFolderName({ file: 'g.test.ts', name: 'n', stage: 1, profile: 'wan' }),
      artifactFolderName({ file: 'f.test.ts', name: 'n', stage: 2, profile: 'wan' }),
    ];
    expect(new Set(variants).size).toBe(4);
  });

  test('a readable name keeps its stage, words and profile', () => {
    expect(artifactFolderName({ file: 'f.test.ts', name: 'echoes one message back', stage: 1, profile: 'wan' })).toMatch(
      /^stage1-echoes-one-message-back-wan-[0-9a-f]{10}$/,
    );
  });
});

describe('writeArtifactFiles', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'netkata-artifact-files-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('writes the files into the folder, again over an earlier run', async () => {
    const written = await writeArtifactFiles(root, 'stage1-x', { 'transcript.txt': 'one', 'capture.pcap': Buffer.from([1, 2]) });
    await writeArtifactFiles(root, 'stage1-x', { 'transcript.txt': 'two' });
    expect(await readFile(written['transcript.txt']!, 'utf8')).toBe('two');
    expect(await readdir(path.join(root, 'stage1-x'))).toEqual(['capture.pcap', 'transcript.txt']);
  });

  test('refuses names that are not one plain name', async () => {
    for (const folder of ['..', '.', '../out', 'a/b', '']) await expect(writeArtifactFiles(root, folder, { 'transcript.txt': 'x' })).rejects.toThrow();
    for (const file of ['../x', '.profile', 'a/b']) await expect(writeArtifactFiles(root, 'ok', { [file]: 'x' })).rejects.toThrow(/not a file name/);
  });

  test('follows no link planted where a folder or file goes', async () => {
    const outside = path.join(root, 'outside');
    await mkdir(outside);
    const artifacts = path.join(root, 'artifacts');
    await mkdir(artifacts);
    await symlink(outside, path.join(artifacts, 'stage1-planted'));
    await expect(writeArtifactFiles(artifacts, 'stage1-planted', { 'transcript.txt': 'x' })).rejects.toThrow(/not a folder/);
    await mkdir(path.join(artifacts, 'stage1-file'));
    await writeFile(path.join(outside, 'target'), 'keep');
    await symlink(path.join(outside, 'target'), path.join(artifacts, 'stage1-file', 'transcript.txt'));
    await expect(writeArtifactFiles(artifacts, 'stage1-file', { 'transcript.txt': 'x' })).rejects.toThrow(/ELOOP/);
    expect(await readFile(path.join(outside, 'target'), 'utf8')).toBe('keep');
    expect(await readdir(outside)).toEqual(['target']);
  });
});

describe('pcap', () => {
  const record = (timeUs: number, text: string): PcapRecord => ({ timeUs, originalLength: text.length, data: Buffer.from(text) });

  test('round-trips records, and cuts several ring files to one window in time order', () => {
    const second = 1_700_000_000_000_000;
    const a = writePcap(1, 65_535, [record(second + 1, 'early'), record(second + 2_000_000, 'in-a')]);
    const b = writePcap(1, 65_535, [record(second + 1_500_000, 'in-b'), record(second + 9_000_000, 'late')]);
    expect(readPcap(a).records.map((r) => r.data.toString())).toEqual(['early', 'in-a']);
    const cut = readPcap(cutPcap([a, b], (second + 1_000_000) / 1_000, (second + 3_000_000) / 1_000)!);
    expect(cut.linkType).toBe(1);
    expect(cut.records.map((r) => [r.timeUs - second, r.data.toString()])).toEqual([
      [1_500_000, 'in-b'],
      [2_000_000, 'in-a'],
    ]);
  });

  test('leaves out a record cut short, reads big-endian nanosecond files, refuses what is not pcap', () => {
    const whole = writePcap(1, 100, [record(5_000_000, 'one'), record(6_000_000, 'two')]);
    expect(readPcap(whole.subarray(0, whole.length - 1)).records.map((r) => r.data.toString())).toEqual(['one']);
    const be = Buffer.alloc(24 + 16 + 2);
    be.writeUInt32BE(0xa1b23c4d, 0);
    be.writeUInt32BE(101, 20);
    be.writeUInt32BE(7, 24);
    be.writeUInt32BE(5_000, 28);
    be.writeUInt32BE(2, 32);
    be.writeUInt32BE(2, 36);
    be.write('hi', 40);
    const read = readPcap(be);
    expect([read.linkType, read.records[0]!.timeUs, read.records[0]!.data.toString()]).toEqual([101, 7_000_005, 'hi']);
    expect(() => readPcap(Buffer.from('<html>not a capture at all</html>'))).toThrow(/not a classic pcap/);
    expect(cutPcap([Buffer.from('garbage')], 0, Date.now())).toBeUndefined();
  });
});

describe('the timeline page', () => {
  test('shows a lane per connection and keeps hostile labels, notes and bytes inert', () => {
    const transcript = new Transcript();
    const label = '<img src=x onerror=alert(1)>';
    transcript.record(label, 'sent', Buffer.from('<script>alert("sent")</script>'));
    transcript.record(label, 'received', Buffer.from('\x1b[2J</div><iframe src="https://example.invalid/">'));
    transcript.record('c2', 'sent', Buffer.from('hello'));
    transcript.record('server', 'note', 'the client printed: </td><script>alert(2)</script>\u202e\nsecond line');
    const html = renderTimelineHtml({ title: '<b>test</b>', subtitle: "01-x.test.ts' onload='x", ...transcript.shownEvents(), durationMs: 50 });
    expect(html).not.toMatch(/<(script|img|iframe|b>)/i);
    expect(html).not.toMatch(/[\x1b\u202e]/);
    expect(html).not.toContain("' onload='");
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;alert(\\&quot;sent\\&quot;)&lt;/script&gt;');
    expect(html).toContain('\\u202e');
    expect(html).toContain("default-src 'none'");
    // A lane each: the hostile label's, c2's and the note's.
    expect(html.match(/<div class="lane">/g)).toHaveLength(3);
    expect(html).toContain('5 bytes sent, 0 received');
  });
});

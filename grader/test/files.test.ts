// The files a test gives a submission: bytes, symbolic links and large repeated files, as the
// tar a container gets (read back by the system's tar) and as the local runtime writes them.
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FILES_MTIME_MS, filesDirOf, repeatedChunks, type FileTree } from '../src/runtime/files.ts';
import { tarChunks, tarOf } from '../src/runtime/docker/tar.ts';

const run = promisify(execFile);
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'netkata-files-test-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const PATTERN = Buffer.from('0123456789');
const TREE: FileTree = {
  'secret.txt': Buffer.from('outside\n'),
  'public/a.txt': Buffer.from('a\n'),
  'public/big.bin': { sizeBytes: 3 * 1024 * 1024 + 7, pattern: PATTERN },
  'public/leak': { link: '../secret.txt' },
  'public/etc': { link: '/etc' },
};

describe('files for a submission', () => {
  test('the tar holds the bytes, the links as links, the repeated file whole, every one at FILES_MTIME_MS', async () => {
    const archive = path.join(tmp, 'tree.tar');
    await writeFile(archive, tarOf(TREE));
    const out = path.join(tmp, 'x');
    await run('mkdir', ['-p', out]);
    await run('tar', ['-xf', archive, '-C', out]);
    expect(await readFile(path.join(out, 'public/a.txt'), 'utf8')).toBe('a\n');
    expect(await readlink(path.join(out, 'public/leak'))).toBe('../secret.txt');
    expect(await readlink(path.join(out, 'public/etc'))).toBe('/etc');
    const big = await readFile(path.join(out, 'public/big.bin'));
    expect(big.length).toBe(3 * 1024 * 1024 + 7);
    expect(big.every((byte, i) => byte === PATTERN[i % PATTERN.length])).toBe(true);
    const { mtimeMs, mode } = await lstat(path.join(out, 'public/a.txt'));
    expect(mtimeMs).toBe(FILES_MTIME_MS);
    expect(mode & 0o777).toBe(0o444);
  });

  test('a repeated file is streamed in chunks, never whole', () => {
    const sizes = [...tarChunks({ 'huge.bin': { sizeBytes: 64 * 1024 * 1024, pattern: PATTERN } })].map((c) => c.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024 * 1024);
    let total = 0;
    for (const chunk of repeatedChunks({ sizeBytes: 1_000_003, pattern: PATTERN }, 4096)) total += chunk.length;
    expect(total).toBe(1_000_003);
  });

  test('names that are not plain relative paths are refused, and filesRoot is one too', () => {
    for (const name of ['/etc/passwd', '../x', 'a/../b', 'a//b', './a'])
      expect(() => tarOf({ [name]: Buffer.from('x') }), name).toThrow(/not a plain relative path/);
    expect(filesDirOf('/srv/files', 'public')).toBe('/srv/files/public');
    expect(filesDirOf('/srv/files', undefined)).toBe('/srv/files');
    expect(() => filesDirOf('/srv/files', '../up')).toThrow(/not a plain relative path/);
  });
});

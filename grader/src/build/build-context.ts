import { constants } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { SubmissionBuildError } from '../errors.ts';

/** A Dockerfile submission's build context, all files together: a program's sources, not a disk image. */
export const MAX_CONTEXT_BYTES = 64 * 1024 * 1024;
const MAX_CONTEXT_FILES = 10_000;

const SKIPPED = new Set(['.git', 'node_modules']);
const BLOCK = 512;

export interface BuildContext {
  /** An uncompressed tar of the folder's regular files. */
  readonly tar: Buffer;
  readonly files: readonly string[];
  /** Symbolic links (and other non-files) left out: shown to the learner when the build fails. */
  readonly skipped: readonly string[];
  /** The top-level Dockerfile as packed (undefined if it is not a regular file of the folder). */
  readonly dockerfile?: Buffer;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * The build context of a Dockerfile submission, packed here rather than by dockerode (which reads
 * .dockerignore through links and packs whatever the list names): regular files only, found by
 * lstat, so a symbolic link (to a host file or a host folder) is never followed; sizes checked
 * before anything is read. A hard link is a regular file of the folder like any other: nothing
 * can tell it apart, and under fs.protected_hardlinks only a file its owner could already read
 * and write can be linked.
 */
export async function packBuildContext(dir: string): Promise<BuildContext> {
  const files: { name: string; full: string; size: number; mode: number }[] = [];
  const skipped: string[] = [];
  let total = 0;
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(path.join(dir, relative), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      if (SKIPPED.has(entry.name)) continue;
      const full = path.join(dir, name);
      const stats = await lstat(full);
      if (stats.isDirectory()) await walk(name);
      else if (stats.isFile()) {
        files.push({ name, full, size: stats.size, mode: stats.mode & 0o777 });
        total += stats.size;
        if (files.length > MAX_CONTEXT_FILES) {
          throw new SubmissionBuildError(
            'your submission folder is too big to build',
            `it holds more than ${MAX_CONTEXT_FILES} files; a Dockerfile submission's folder is its sources (node_modules and .git are left out)`,
          );
        }
      } else skipped.push(name);
    }
  };
  await walk('');
  if (total > MAX_CONTEXT_BYTES) {
    const largest = [...files]
      .sort((a, b) => b.size - a.size)
      .slice(0, 3)
      .map((f) => `${f.name} (${mib(f.size)})`);
    throw new SubmissionBuildError(
      'your submission folder is too big to build',
      `its files come to ${mib(total)}; the build context may be at most ${mib(MAX_CONTEXT_BYTES)}. The largest: ${largest.join(', ')}. Leave build outputs and data out of the folder`,
    );
  }
  const parts: Buffer[] = [];
  let dockerfile: Buffer | undefined;
  const directories = new Set<string>();
  for (const file of files) {
    const segments = file.name.split('/');
    for (let i = 1; i < segments.length; i++) {
      const directory = `${segments.slice(0, i).join('/')}/`;
      if (directories.has(directory)) continue;
      directories.add(directory);
      parts.push(header(directory, 0, '5', 0o755));
    }
    const content = await readExactly(file.full, file.size);
    if (!content)
      throw new SubmissionBuildError('your submission folder changed while it was being packed', `${file.name} changed while the grader read it; build again`);
    if (file.name === 'Dockerfile') dockerfile = content;
    parts.push(header(file.name, content.length, '0', file.mode), content);
    const padding = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return { tar: Buffer.concat(parts), files: files.map((f) => f.name), skipped, ...(dockerfile && { dockerfile }) };
}

/** The file's bytes if it is still the regular file of `size` bytes that was listed (no link swapped in). */
async function readExactly(file: string, size: number): Promise<Buffer | undefined> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size !== size) return undefined;
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, size, 0);
    return bytesRead === size ? buffer : undefined;
  } finally {
    await handle.close();
  }
}

/** A ustar header; names longer than 100 bytes go into the 155-byte prefix field. */
function header(name: string, size: number, type: '0' | '5', mode: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(base) > 100) {
      throw new SubmissionBuildError(
        'a file name in your submission folder is too long',
        `${name.slice(0, 300)} is longer than a build context allows (100 bytes per name, 255 with its folders)`,
      );
    }
  }
  block.write(base, 0, 'utf8');
  const octal = (value: number, offset: number, width: number) => block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'ascii');
  octal(mode, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(0, 136, 12);
  block.fill(0x20, 148, 156);
  block.write(type, 156, 'ascii');
  block.write('ustar\x0000', 257, 'ascii');
  block.write(prefix, 345, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

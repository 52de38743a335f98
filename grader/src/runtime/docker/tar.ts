/**
 * A minimal ustar writer, enough to hand a container a folder of files through Docker's
 * archive endpoint: regular files, symbolic links and the directories above them, owned by
 * root, read-only, every one modified at FILES_MTIME_MS.
 */
import { assertPlainRelative, FILES_MTIME_MS, isRepeatedFile, isSymbolicLink, repeatedChunks, sizeOf, type FileTree } from '../files.ts';

const BLOCK = 512;

function header(name: string, size: number, type: '0' | '2' | '5', mode: number, linkName = ''): Buffer {
  const block = Buffer.alloc(BLOCK);
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new Error(`file name too long for the archive: ${name}`);
  const linkBytes = Buffer.from(linkName, 'utf8');
  if (linkBytes.length > 100) throw new Error(`link target too long for the archive: ${linkName}`);
  nameBytes.copy(block, 0);
  const octal = (value: number, offset: number, width: number) => block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'ascii');
  octal(mode, 100, 8);
  octal(0, 108, 8); // uid
  octal(0, 116, 8); // gid
  octal(size, 124, 12);
  octal(Math.floor(FILES_MTIME_MS / 1000), 136, 12);
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  block.write(type, 156, 'ascii');
  linkBytes.copy(block, 157);
  block.write('ustar\x0000', 257, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/**
 * The archive of `files` (relative paths, `/`-separated), files mode 0444, directories 0555, in
 * chunks: a repeated file of a GiB is never whole in memory.
 */
export function* tarChunks(files: FileTree): Generator<Buffer> {
  const directories = new Set<string>();
  for (const [name, entry] of Object.entries(files)) {
    assertPlainRelative(name);
    const segments = name.split('/');
    for (let i = 1; i < segments.length; i++) {
      const directory = `${segments.slice(0, i).join('/')}/`;
      if (directories.has(directory)) continue;
      directories.add(directory);
      yield header(directory, 0, '5', 0o555);
    }
    if (isSymbolicLink(entry)) {
      yield header(name, 0, '2', 0o777, entry.link);
      continue;
    }
    const size = sizeOf(entry);
    yield header(name, size, '0', 0o444);
    if (isRepeatedFile(entry)) yield* repeatedChunks(entry);
    else yield Buffer.from(entry.buffer, entry.byteOffset, entry.length);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** The whole archive in one buffer, for small trees. */
export const tarOf = (files: FileTree): Buffer => Buffer.concat([...tarChunks(files)]);

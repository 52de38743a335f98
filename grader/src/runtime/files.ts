/**
 * The read-only files a test gives a submission (its FILES_DIR) or a peer: plain bytes, a
 * symbolic link (a web server's test of links that lead out of its folder), or a large file made
 * of one pattern repeated (a 1 GiB file is never held in memory: it is streamed into place).
 */
export type FileEntry = Uint8Array | SymbolicLink | RepeatedFile;

export interface SymbolicLink {
  /** What the link points to, as `ln -s` takes it: relative to the link's folder, or absolute. */
  readonly link: string;
}

export interface RepeatedFile {
  readonly sizeBytes: number;
  /** Repeated from the start of the file and cut at sizeBytes: byte i is pattern[i % pattern.length]. */
  readonly pattern: Uint8Array;
}

/** By relative path (`a.txt`, `docs/b.bin`), `/`-separated. */
export type FileTree = Readonly<Record<string, FileEntry>>;

/**
 * Every file's modification time, the same in every runtime, so a test knows a file's
 * Last-Modified: 2026-01-01T00:00:00Z.
 */
export const FILES_MTIME_MS = Date.UTC(2026, 0, 1);

export const isSymbolicLink = (entry: FileEntry): entry is SymbolicLink => 'link' in entry && typeof entry.link === 'string';
export const isRepeatedFile = (entry: FileEntry): entry is RepeatedFile => 'pattern' in entry && 'sizeBytes' in entry;

/** A file's size in bytes (a link's: 0). */
export function sizeOf(entry: FileEntry): number {
  if (isSymbolicLink(entry)) return 0;
  if (isRepeatedFile(entry)) return entry.sizeBytes;
  return entry.length;
}

/** A repeated file's bytes, in chunks of about `chunkBytes`: what a writer streams. */
export function* repeatedChunks(file: RepeatedFile, chunkBytes = 1024 * 1024): Generator<Buffer> {
  const { pattern, sizeBytes } = file;
  if (pattern.length === 0) throw new Error('a repeated file needs a pattern of at least one byte');
  // Whole patterns per chunk, so every chunk starts at the pattern's beginning.
  const copies = Math.max(1, Math.floor(chunkBytes / pattern.length));
  const block = Buffer.alloc(copies * pattern.length);
  for (let i = 0; i < copies; i++) block.set(pattern, i * pattern.length);
  for (let offset = 0; offset < sizeBytes; offset += block.length) yield block.subarray(0, Math.min(block.length, sizeBytes - offset));
}

/** Refuses a name that is not a plain relative path (no `..`, no empty or `.` segment). */
export function assertPlainRelative(name: string): void {
  if (name.startsWith('/') || name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`not a plain relative path: ${name}`);
  }
}

/** FILES_DIR: the files' folder, or the folder of them that StartOptions.filesRoot names. */
export function filesDirOf(directory: string, filesRoot: string | undefined): string {
  if (filesRoot === undefined) return directory;
  assertPlainRelative(filesRoot);
  return `${directory}/${filesRoot}`;
}

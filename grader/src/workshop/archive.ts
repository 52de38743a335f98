import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { GraderError } from '../errors.ts';

/**
 * A team's upload: its exercise folder as a gzipped tar. Packed by `netkata submit` on a team's
 * laptop, unpacked by the facilitator's server, where it is someone else's code: only regular
 * files and folders, relative names that stay inside the folder, bounded in size and count.
 */
export const UPLOAD_LIMITS = {
  /** What the server accepts on the wire. */
  compressedBytes: 8 * 1024 * 1024,
  /** The folder unpacked: a gzip bomb stops here. */
  unpackedBytes: 32 * 1024 * 1024,
  files: 2_000,
  nameChars: 200,
  depth: 16,
} as const;

/** Folders a submission never needs: dependencies are installed in the image, not uploaded. */
const SKIPPED = new Set(['node_modules', '.git', '.netkata']);

/** An upload that breaks a rule: the uploader's mistake (or attack), with what to do instead. */
export class UploadError extends GraderError {
  override readonly code = 'NETKATA_UPLOAD';
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Why a name in an archive is refused, or undefined when it is a plain relative path inside the folder. */
function unsafeName(name: string): string | undefined {
  if (name.length === 0) return 'an empty name';
  if (name.length > UPLOAD_LIMITS.nameChars) return `a name longer than ${UPLOAD_LIMITS.nameChars} characters`;
  // Control characters would reach terminals and logs; a backslash is a separator on Windows.
  if (/[\p{Cc}\\]/u.test(name)) return 'a control character or backslash in the name';
  if (name.startsWith('/')) return 'an absolute path';
  const parts = name.replace(/\/$/, '').split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '')) return 'a "..", "." or empty part';
  if (parts.length > UPLOAD_LIMITS.depth) return `more than ${UPLOAD_LIMITS.depth} folders deep`;
  return undefined;
}

/**
 * Packs a submission folder. Symbolic links are refused rather than followed or dropped: the
 * server would refuse them, and a silent drop would grade something else than the team wrote.
 */
export async function packSubmission(dir: string): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
  // tar-stream's streams are streamx streams, not Node's: their end is an event.
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  let files = 0;
  let bytes = 0;
  const walk = async (relative: string): Promise<void> => {
    const entries = (await readdir(path.join(dir, relative))).sort();
    for (const entry of entries) {
      if (SKIPPED.has(entry)) continue;
      const name = relative ? `${relative}/${entry}` : entry;
      const stat = await lstat(path.join(dir, name));
      const unsafe = unsafeName(name);
      if (unsafe) throw new UploadError(`${JSON.stringify(name)}: ${unsafe}; rename it or move it out of ${dir}`);
      if (stat.isSymbolicLink()) throw new UploadError(`${name} is a symbolic link; uploads carry regular files only: copy the file in its place`);
      if (stat.isDirectory()) {
        pack.entry({ name: `${name}/`, type: 'directory', mode: 0o755, mtime: new Date(0) });
        await walk(name);
      } else if (stat.isFile()) {
        files += 1;
        bytes += stat.size;
        if (files > UPLOAD_LIMITS.files) throw new UploadError(`${dir} holds more than ${UPLOAD_LIMITS.files} files (node_modules and .git are left out)`);
        if (bytes > UPLOAD_LIMITS.unpackedBytes)
          throw new UploadError(`${dir} holds more than ${mib(UPLOAD_LIMITS.unpackedBytes)} (node_modules and .git are left out)`);
        pack.entry({ name, mode: stat.mode & 0o111 ? 0o755 : 0o644, mtime: new Date(0) }, await readFile(path.join(dir, name)));
      } else throw new UploadError(`${name} is neither a file nor a folder (a socket or device?); remove it from ${dir}`);
    }
  };
  await walk('');
  pack.finalize();
  await done;
  const gz = await gzipAsync(Buffer.concat(chunks));
  if (gz.length > UPLOAD_LIMITS.compressedBytes)
    throw new UploadError(`${dir} packs to ${mib(gz.length)}, over the upload limit of ${mib(UPLOAD_LIMITS.compressedBytes)}`);
  return gz;
}

/**
 * Unpacks an upload into `dest` (a new, empty folder). Everything is checked before a byte is
 * written: the whole archive is bounded (gunzip stops at the limit), so a bad entry late in it
 * leaves nothing half-unpacked.
 */
export async function unpackSubmission(upload: Buffer, dest: string): Promise<{ files: number; bytes: number }> {
  if (upload.length > UPLOAD_LIMITS.compressedBytes)
    throw new UploadError(`the upload is ${mib(upload.length)}, over the limit of ${mib(UPLOAD_LIMITS.compressedBytes)}`);
  let raw: Buffer;
  try {
    // A tar of the limit is a little larger than its files: headers and padding.
    raw = await gunzipAsync(upload, { maxOutputLength: UPLOAD_LIMITS.unpackedBytes + 4 * 1024 * 1024 });
  } catch (error) {
    const tooBig = error instanceof RangeError || (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new UploadError(
      tooBig ? `the upload unpacks to more than ${mib(UPLOAD_LIMITS.unpackedBytes)}` : 'the upload is not a gzipped tar (pack it with netkata submit)',
    );
  }
  const entries: Array<{ name: string; type: 'file' | 'directory'; mode: number; data: Buffer }> = [];
  const extract = tar.extract();
  let bytes = 0;
  const parsed = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
      stream.on('end', () => {
        const fail = (why: string) => reject(new UploadError(`${JSON.stringify(header.name.slice(0, 80))} in the upload: ${why}`));
        const type = header.type;
        if (type !== 'file' && type !== 'directory') return fail(`a ${type ?? 'special'} entry; uploads carry regular files and folders only`);
        const unsafe = unsafeName(header.name);
        if (unsafe) return fail(unsafe);
        const data = Buffer.concat(chunks);
        bytes += data.length;
        if (bytes > UPLOAD_LIMITS.unpackedBytes) return reject(new UploadError(`the upload unpacks to more than ${mib(UPLOAD_LIMITS.unpackedBytes)}`));
        if (entries.length >= UPLOAD_LIMITS.files * 2) return reject(new UploadError(`the upload has more than ${UPLOAD_LIMITS.files} files`));
        entries.push({ name: header.name.replace(/\/$/, ''), type, mode: (header.mode ?? 0o644) & 0o111 ? 0o755 : 0o644, data });
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', () => reject(new UploadError('the upload is not a valid tar archive (pack it with netkata submit)')));
  });
  extract.end(raw);
  await parsed;
  const files = entries.filter((e) => e.type === 'file');
  if (files.length > UPLOAD_LIMITS.files) throw new UploadError(`the upload has ${files.length} files, over the limit of ${UPLOAD_LIMITS.files}`);
  const names = new Set<string>();
  for (const e of files) {
    if (names.has(e.name)) throw new UploadError(`${JSON.stringify(e.name)} appears twice in the upload`);
    names.add(e.name);
  }
  for (const e of entries) {
    const parents = e.name.split('/').slice(0, -1);
    const clash = parents.map((_, i) => parents.slice(0, i + 1).join('/')).find((p) => names.has(p));
    if (clash) throw new UploadError(`${JSON.stringify(clash)} is a file in the upload and also a folder of ${JSON.stringify(e.name)}`);
  }
  await mkdir(dest, { recursive: true });
  for (const e of entries) {
    const target = path.join(dest, e.name);
    if (e.type === 'directory') await mkdir(target, { recursive: true, mode: 0o755 });
    else {
      await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
      // 'wx': never through anything already there (the folder is new; this is belt and braces).
      const out = createWriteStream(target, { flags: 'wx', mode: e.mode });
      out.end(e.data);
      await finished(out);
    }
  }
  return { files: files.length, bytes };
}

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

/** What a submission's hash leaves out at its top: installed packages, history, netkata's own state. */
const SKIPPED = new Set(['node_modules', '.git', '.netkata']);

/**
 * A folder's content as one sha256: every entry's relative path and kind, a file's bytes, a
 * link's target (never followed), in name order. Two folders with the same files hash the same
 * wherever they are and whatever their mtimes; `batch --resume` tells an unchanged submission by it.
 */
export async function contentHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFolder(hash, dir, '');
  return hash.digest('hex');
}

async function hashFolder(hash: Hash, root: string, relative: string): Promise<void> {
  const entries = (await readdir(path.join(root, relative), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    // Only at the top: deeper, a folder of that name may be what the submission imports or
    // copies, and a fingerprint that missed a change there would skip a changed submission.
    if (relative === '' && SKIPPED.has(entry.name)) continue;
    const name = relative ? `${relative}/${entry.name}` : entry.name;
    const full = path.join(root, name);
    if (entry.isDirectory()) {
      hash.update(`dir\0${name}\0`);
      await hashFolder(hash, root, name);
    } else if (entry.isSymbolicLink()) {
      hash.update(`link\0${name}\0${await readlink(full)}\0`);
    } else if (entry.isFile()) {
      // The length first, so no file's bytes can pose as the entries after it.
      hash.update(`file\0${name}\0${(await lstat(full)).size}\0`);
      // Streamed: a submission's file may be larger than the grader's memory.
      for await (const chunk of createReadStream(full)) hash.update(chunk as Buffer);
    } else {
      hash.update(`other\0${name}\0`);
    }
  }
}

import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';

/** Where a path inside a submission folder really leads, decided without touching anything outside it. */
export type ConfinedPath =
  | { readonly kind: 'file'; readonly real: string; readonly relative: string; readonly sizeBytes: number }
  | { readonly kind: 'directory'; readonly real: string }
  | { readonly kind: 'other' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'outside' };

/** Symbolic links followed in one path before giving up (the kernel's own limit is 40). */
const MAX_LINKS = 40;

/** The submission folder's real path: the folder itself may be reached through a symbolic link. */
export function realRoot(dir: string): Promise<string> {
  return realpath(dir);
}

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Resolves `target` (absolute) component by component with lstat and readlink, as realpath
 * would, but refuses as soon as a step leads outside `root` (a real path): nothing outside is
 * ever stat'ed, so a submission cannot even learn whether a host file exists.
 */
export async function confinedPath(root: string, target: string): Promise<ConfinedPath> {
  if (!isInside(root, target)) return { kind: 'outside' };
  let pending = path
    .relative(root, target)
    .split(path.sep)
    .filter((part) => part !== '' && part !== '.');
  let current = root;
  let links = 0;
  while (pending.length > 0) {
    const [part, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (part === '..') {
      current = path.dirname(current);
      if (!isInside(root, current)) return { kind: 'outside' };
      continue;
    }
    const next = path.join(current, part);
    let stats;
    try {
      stats = await lstat(next);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
      throw error;
    }
    if (stats.isSymbolicLink()) {
      if (++links > MAX_LINKS) return { kind: 'other' };
      const resolved = path.resolve(current, await readlink(next));
      if (!isInside(root, resolved)) return { kind: 'outside' };
      pending = [
        ...path
          .relative(root, resolved)
          .split(path.sep)
          .filter((p) => p !== '' && p !== '.'),
        ...pending,
      ];
      current = root;
      continue;
    }
    if (pending.length > 0 && !stats.isDirectory()) return { kind: 'missing' };
    current = next;
  }
  const stats = await lstat(current);
  if (stats.isFile()) return { kind: 'file', real: current, relative: path.relative(root, current).split(path.sep).join('/'), sizeBytes: stats.size };
  if (stats.isDirectory()) return { kind: 'directory', real: current };
  return { kind: 'other' };
}

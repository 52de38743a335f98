// From a request target to a file inside the served folder, or a refusal. Every check is made
// on what the kernel will open (the real path, links followed), never on the text alone: a
// `..` hides behind percent-encoding (%2e%2e), an encoded slash (%2f) or a symbolic link.
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export type Resolved =
  | { readonly kind: 'file'; readonly file: string }
  /** A folder named without its trailing slash: 301 to the same path with one. */
  | { readonly kind: 'folder'; readonly location: string }
  | { readonly kind: 'refused'; readonly status: 400 | 403 | 404; readonly why: string };

/** The path of an origin-form (`/a/b?q`) or absolute-form (`http://host/a/b?q`) target (RFC 9112 §3.2). */
export function targetPath(target: string): string | undefined {
  let rest = target;
  const absolute = /^https?:\/\/[^/?#]*/i.exec(rest);
  if (absolute) rest = rest.slice(absolute[0].length) || '/';
  if (!rest.startsWith('/')) return undefined;
  const query = rest.search(/[?#]/);
  return query === -1 ? rest : rest.slice(0, query);
}

/** Percent-decoding to bytes, then UTF-8 (RFC 3986 §2.1); undefined for a malformed escape, NUL or invalid UTF-8. */
export function decodePath(raw: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(c);
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

export class FileResolver {
  private readonly root: Promise<string>;

  constructor(filesDir: string) {
    this.root = realpath(filesDir);
  }

  async resolve(target: string): Promise<Resolved> {
    const raw = targetPath(target);
    if (raw === undefined) return { kind: 'refused', status: 400, why: 'the target is neither /path nor http://host/path' };
    const decoded = decodePath(raw);
    if (decoded === undefined) return { kind: 'refused', status: 400, why: 'a malformed percent-escape, a NUL or invalid UTF-8 in the path' };
    const segments = this.segments(raw, decoded);
    if (!segments) return { kind: 'refused', status: 403, why: 'a .. segment' };
    const found = await this.inside(path.join(await this.root, ...segments));
    if (found.kind !== 'file') return found;
    const info = await stat(found.file);
    const slash = decoded.endsWith('/');
    if (info.isDirectory()) {
      if (!slash) return { kind: 'folder', location: `${raw}/` };
      return this.inside(path.join(found.file, 'index.html'));
    }
    if (!info.isFile() || slash) return { kind: 'refused', status: 404, why: 'not a regular file' };
    return found;
  }

  /**
   * The path's segments, split after decoding (an encoded slash separates segments like any
   * other), without empty and `.` ones; undefined if one is `..`. (Faulty variants check less.)
   */
  protected segments(raw: string, decoded: string): string[] | undefined {
    const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
    return segments.includes('..') ? undefined : segments;
  }

  /** Whether `real`, a path with every link resolved, is the folder or inside it. */
  protected contains(root: string, real: string): boolean {
    return real === root || real.startsWith(root + path.sep);
  }

  /** The real path of `lexical` (links followed) if it exists and is inside the folder. */
  private async inside(lexical: string): Promise<Resolved> {
    const root = await this.root;
    let real: string;
    try {
      real = await realpath(lexical);
    } catch {
      return { kind: 'refused', status: 404, why: 'no such file' };
    }
    if (!this.contains(root, real)) return { kind: 'refused', status: 403, why: 'a link that leads out of the folder' };
    if (lexical.endsWith(`${path.sep}index.html`) && !(await stat(real)).isFile()) return { kind: 'refused', status: 404, why: 'no index.html' };
    return { kind: 'file', file: real };
  }
}

// What a response's head says: reasons, content types, dates, validators and ranges.
// RFC 9110 §8.3 (Content-Type), §5.6.7 (HTTP-date), §8.8 (ETag, Last-Modified), §13
// (conditional requests), §14 (Range, Content-Range).

export const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  206: 'Partial Content',
  301: 'Moved Permanently',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  416: 'Range Not Satisfiable',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.pdf': 'application/pdf',
  '.wasm': 'application/wasm',
};

/** By the file name's last extension, case-insensitively; application/octet-stream for the rest. */
export function contentType(file: string): string {
  const dot = file.lastIndexOf('.');
  const slash = file.lastIndexOf('/');
  return (dot > slash + 1 && TYPES[file.slice(dot).toLowerCase()]) || 'application/octet-stream';
}

/** IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`: what Date.toUTCString gives. */
export const httpDate = (ms: number) => new Date(ms).toUTCString();

let dateSecond = -1;
let dateText = '';
/** Date for now, formatted once a second (a busy server answers thousands of requests in one). */
export function nowDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = httpDate(second * 1000);
  }
  return dateText;
}

/** A strong validator that changes when the file's size or modification time does (as nginx makes its own). */
export const etagOf = (size: number, mtimeMs: number) => `"${Math.floor(mtimeMs / 1000).toString(16)}-${size.toString(16)}"`;

/**
 * Whether the client's copy is current, so the answer is 304: If-None-Match (weak comparison,
 * `*` matches any) decides when present; else If-Modified-Since, to the second (RFC 9110 §13.2.2).
 */
export function notModified(headers: ReadonlyMap<string, string>, etag: string, mtimeMs: number): boolean {
  const match = headers.get('if-none-match');
  if (match !== undefined) {
    const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
    return match.trim() === '*' || match.split(',').some((tag) => opaque(tag) === opaque(etag));
  }
  const since = headers.get('if-modified-since');
  if (since === undefined) return false;
  const sinceMs = Date.parse(since);
  return !Number.isNaN(sinceMs) && Math.floor(mtimeMs / 1000) * 1000 <= sinceMs;
}

export type RangeAnswer =
  { readonly kind: 'whole' } | { readonly kind: 'part'; readonly start: number; readonly end: number } | { readonly kind: 'unsatisfiable' };

/**
 * One byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) of a file of `size` bytes. A header that
 * does not parse, names another unit or asks for several ranges is ignored: the whole file is
 * a valid answer to any Range (RFC 9110 §14.2), and multipart answers are not asked of you.
 */
export function rangeOf(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const spec = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!spec || (spec[1] === '' && spec[2] === '')) return { kind: 'whole' };
  const [, first, last] = spec as unknown as [string, string, string];
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  // `a-b` with b before a is not a range at all (ignored); a start past the end is one that cannot be met.
  if (last !== '' && Number(last) < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Number(last);
  return { kind: 'part', start, end: Math.min(end, size - 1) };
}

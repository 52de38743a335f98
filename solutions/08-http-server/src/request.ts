// Parsing a request's head (request line and header fields) from the bytes a connection has
// so far, wherever TCP cut them: a result only once the blank line that ends the head is in.
// RFC 9112 §2 (message format), §3 (request line), §5 (field lines).

/** The request line's bound; a longer one is refused with 414 before it is all in. */
export const MAX_REQUEST_LINE_BYTES = 8_192;
/** The header section's bound (every field line, CRLFs included): 431 past it. */
export const MAX_HEADER_BYTES = 16_384;
export const MAX_HEADER_FIELDS = 100;
/** A request body (which nothing here uses) up to this is read and dropped; a larger one is 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface Request {
  readonly method: string;
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: 0 | 1;
  /** Field names in lower case; a repeated field's values joined with ", " (RFC 9110 §5.3). */
  readonly headers: ReadonlyMap<string, string>;
  /** How many times each field came: Host and Content-Length must come at most once. */
  readonly counts: ReadonlyMap<string, number>;
}

/** A status this parser answers a broken request with; the connection is closed after it. */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 413 | 414 | 431 | 501 | 505,
    message: string,
  ) {
    super(message);
  }
}

export type ParseResult = { readonly request: Request; readonly headBytes: number } | undefined;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Empty lines before a request line are skipped (RFC 9112 §2.2): how many bytes of them `input` starts with. */
export function leadingEmptyLines(input: Buffer): number {
  let i = 0;
  while (i < input.length && (input[i] === 0x0d || input[i] === 0x0a)) i++;
  return i;
}

/**
 * The head at the start of `input` (no empty lines before it), once it is whole; undefined while
 * it is not. Throws RequestError for a head that is broken or too big, as soon as that shows.
 */
export function parseHead(input: Buffer): ParseResult {
  const end = headEnd(input);
  if (end === undefined) {
    const lineEnd = input.indexOf(0x0a);
    if (lineEnd === -1 ? input.length > MAX_REQUEST_LINE_BYTES : lineEnd + 1 > MAX_REQUEST_LINE_BYTES) {
      throw new RequestError(414, `the request line is longer than ${MAX_REQUEST_LINE_BYTES} bytes`);
    }
    if (lineEnd !== -1 && input.length - lineEnd - 1 > MAX_HEADER_BYTES) {
      throw new RequestError(431, `the header section is longer than ${MAX_HEADER_BYTES} bytes`);
    }
    return undefined;
  }
  // Field values are opaque bytes (RFC 9110 §5.5); latin1 keeps each byte one character.
  // Up to the blank line: every line still ends with its \n, so the split leaves an empty last element.
  const lines = input
    .subarray(0, end.at)
    .toString('latin1')
    .split('\n')
    .slice(0, -1)
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const [requestLine, ...fieldLines] = lines;
  if (Buffer.byteLength(requestLine!, 'latin1') + 2 > MAX_REQUEST_LINE_BYTES) {
    throw new RequestError(414, `the request line is longer than ${MAX_REQUEST_LINE_BYTES} bytes`);
  }
  if (end.at - requestLine!.length > MAX_HEADER_BYTES) throw new RequestError(431, `the header section is longer than ${MAX_HEADER_BYTES} bytes`);
  if (fieldLines.length > MAX_HEADER_FIELDS) throw new RequestError(431, `more than ${MAX_HEADER_FIELDS} header fields`);
  const parts = requestLine!.split(' ');
  if (parts.length !== 3) throw new RequestError(400, 'a request line is METHOD SP target SP version, one space apart');
  const [method, target, version] = parts as [string, string, string];
  if (!TOKEN.test(method)) throw new RequestError(400, 'the method is not a token');
  if (target === '' || /[\x00-\x20\x7f-\xff]/.test(target)) throw new RequestError(400, 'the request target is empty or has spaces or control bytes');
  let minor: 0 | 1;
  if (version === 'HTTP/1.1') minor = 1;
  else if (version === 'HTTP/1.0') minor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) throw new RequestError(505, `${version} is not HTTP/1.0 or HTTP/1.1`);
  else throw new RequestError(400, 'the version is not HTTP/x.y');
  const headers = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const line of fieldLines) {
    // obs-fold (a line starting with whitespace continues the last one): refused, RFC 9112 §5.2.
    if (line.startsWith(' ') || line.startsWith('\t')) throw new RequestError(400, 'a folded header line (obs-fold)');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new RequestError(400, 'a header line without a name and a colon');
    const name = line.slice(0, colon);
    // Whitespace between the name and the colon: refused, RFC 9112 §5.1 (request smuggling).
    if (!TOKEN.test(name)) throw new RequestError(400, `a header name that is not a token: ${JSON.stringify(name.slice(0, 40))}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) throw new RequestError(400, 'a header value with control bytes');
    const key = name.toLowerCase();
    counts.set(key, (counts.get(key) ?? 0) + 1);
    headers.set(key, headers.has(key) ? `${headers.get(key)}, ${value}` : value);
  }
  return { request: { method, target, minor, headers, counts }, headBytes: end.at + end.length };
}

/**
 * Where the head ends (the index of its blank line) and how long that blank line is. Line by
 * line: a bare LF ends a line too (RFC 9112 §2.2), so CRLF and LF lines may mix.
 */
function headEnd(input: Buffer): { at: number; length: number } | undefined {
  for (let start = 0; ;) {
    const newline = input.indexOf(0x0a, start);
    if (newline === -1) return undefined;
    if (newline === start || (newline === start + 1 && input[start] === 0x0d)) return { at: start, length: newline + 1 - start };
    start = newline + 1;
  }
}

/**
 * The body that follows the head, by its Content-Length: read and dropped, since nothing here
 * takes a body. Transfer-Encoding is not supported (501); a Content-Length that is not one
 * decimal number, or comes twice, is 400 (RFC 9112 §6.3: a framing doubt is never guessed).
 */
export function bodyLength(request: Request): number {
  if (request.headers.has('transfer-encoding')) {
    if (request.headers.has('content-length')) throw new RequestError(400, 'both Transfer-Encoding and Content-Length');
    throw new RequestError(501, 'Transfer-Encoding is not supported by this server');
  }
  const raw = request.headers.get('content-length');
  if (raw === undefined) return 0;
  if ((request.counts.get('content-length') ?? 0) > 1 || !/^\d{1,16}$/.test(raw))
    throw new RequestError(400, `an invalid Content-Length: ${JSON.stringify(raw.slice(0, 40))}`);
  const length = Number(raw);
  if (length > MAX_BODY_BYTES) throw new RequestError(413, `a body of ${length} bytes; at most ${MAX_BODY_BYTES} are taken`);
  return length;
}

// Shared by the web-server suite: the folder every test file serves, requests written byte by
// byte (the tests never use an HTTP library: a library would forgive what the contract does
// not), and a strict reader of responses that says what was wrong in the learner's terms.
import { expect } from 'vitest';
import { FILES_MTIME_MS, previewBytes, type FileTree, type TcpConnection } from 'netkata/harness';

/** The folder FILES_DIR names (`filesRoot`); SECRET lies beside it and must never be served. */
export const PUBLIC = 'public';
export const SECRET = Buffer.from('netkata secret: this file is outside FILES_DIR and must never be served\n');
/** 4 MiB of a pattern that does not repeat within a range a test asks for (a prime-sized cycle). */
export const PATTERN = Buffer.from(Array.from({ length: 65_521 }, (_, i) => (i * 131 + (i >> 8) * 7 + 11) & 0xff));
export const BIG_BYTES = 4 * 1024 * 1024;

export const INDEX_HTML = Buffer.from('<!doctype html>\n<title>netkata</title>\n<h1>It works</h1>\n');
export const HELLO = Buffer.from('hello, netkata\n');

/** Every file of the folder, as the tests know it: its path under FILES_DIR and its bytes. */
export const FILES: Readonly<Record<string, Buffer>> = {
  'index.html': INDEX_HTML,
  'hello.txt': HELLO,
  'style.css': Buffer.from('body { color: #222; }\n'),
  'app.js': Buffer.from('console.log("netkata");\n'),
  'data.json': Buffer.from('{"ok":true}\n'),
  'logo.png': Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'),
  'photo.JPG': Buffer.from('ffd8ffe000104a464946', 'hex'),
  'notes.unknownext': Buffer.from('what is this?\n'),
  README: Buffer.from('no extension at all\n'),
  'a b.txt': Buffer.from('a space in the name\n'),
  'caf\u00e9.txt': Buffer.from('an accent in the name\n'),
  '100%.txt': Buffer.from('a percent sign in the name\n'),
  'empty.txt': Buffer.alloc(0),
  'docs/index.html': Buffer.from('<!doctype html>\n<h1>Docs</h1>\n'),
  'docs/guide.txt': Buffer.from('the guide\n'),
  'nested/deeper/file.txt': Buffer.from('three folders down\n'),
  // A folder without an index.html: no listing, 404.
  'bare/only.txt': Buffer.from('the only file here\n'),
};

/** What a test can expect of `FILES[name]`'s Content-Type. */
export const TYPES: Readonly<Record<string, string>> = {
  'index.html': 'text/html',
  'hello.txt': 'text/plain',
  'style.css': 'text/css',
  'app.js': 'text/javascript',
  'data.json': 'application/json',
  'logo.png': 'image/png',
  'photo.JPG': 'image/jpeg',
  'notes.unknownext': 'application/octet-stream',
  README: 'application/octet-stream',
};

/** The served folder, the secret beside it, and links that lead out (and one that stays in). */
export function servedTree(extra: FileTree = {}): FileTree {
  const tree: Record<string, FileTree[string]> = { 'secret.txt': SECRET };
  for (const [name, bytes] of Object.entries(FILES)) tree[`${PUBLIC}/${name}`] = bytes;
  tree[`${PUBLIC}/big.bin`] = { sizeBytes: BIG_BYTES, pattern: PATTERN };
  tree[`${PUBLIC}/leak.txt`] = { link: '../secret.txt' };
  tree[`${PUBLIC}/docs/leak`] = { link: '../../secret.txt' };
  tree[`${PUBLIC}/outside`] = { link: '..' };
  tree[`${PUBLIC}/etc`] = { link: '/etc' };
  for (const [name, entry] of Object.entries(extra)) tree[`${PUBLIC}/${name}`] = entry;
  return tree;
}

/** Bytes `start` to `end` (inclusive) of a file made of PATTERN repeated. */
export function patternBytes(start: number, end: number): Buffer {
  const out = Buffer.alloc(end - start + 1);
  for (let i = 0; i < out.length; i++) out[i] = PATTERN[(start + i) % PATTERN.length]!;
  return out;
}

/** Every file's Last-Modified (the grader gives every file this modification time). */
export const LAST_MODIFIED = new Date(FILES_MTIME_MS).toUTCString();

/** A request's bytes: the request line, `Host: netkata.test` unless told otherwise, the headers, the blank line. */
export function request(
  method: string,
  target: string,
  headers: Readonly<Record<string, string>> = {},
  options: { version?: string; host?: string | null; body?: string } = {},
): Buffer {
  let text = `${method} ${target} ${options.version ?? 'HTTP/1.1'}\r\n`;
  if (options.host !== null) text += `Host: ${options.host ?? 'netkata.test'}\r\n`;
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${text}\r\n`, 'latin1'), Buffer.from(options.body ?? '')]);
}

export const get = (target: string, headers: Readonly<Record<string, string>> = {}) => request('GET', target, headers);

export interface Response {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  /** Field names in lower case; a repeated field's values in order. */
  readonly fields: ReadonlyMap<string, readonly string[]>;
  readonly body: Buffer;
  /** The head as it came, for messages. */
  readonly head: string;
}

/** One field's value; fails the test if it came more than once. */
export function header(response: Response, name: string): string | undefined {
  const values = response.fields.get(name.toLowerCase());
  if (!values) return undefined;
  expect(values.length, `the response has ${values.length} ${name} fields; send it once`).toBe(1);
  return values[0];
}

const MAX_HEAD_BYTES = 64 * 1024;

export interface ReadOptions {
  /** The answer is to a HEAD: it has a head only, whatever Content-Length says. */
  readonly head?: boolean;
  readonly timeoutMs?: number;
  /** Stream the body to this instead of keeping it (a body of many MiB). */
  readonly onBody?: (chunk: Buffer) => void;
  /** What the test sent, for messages: `GET /hello.txt`. */
  readonly what?: string;
}

/**
 * The next response on `conn`, read strictly by the contract: a status line `HTTP/1.1 NNN
 * reason`, field lines, the blank line, then exactly Content-Length bytes of body (none for a
 * HEAD, a 304 or a 1xx). A response without Content-Length (other than those) fails: the
 * contract asks for it on every response, since it is how a keep-alive client finds the end.
 */
export async function readResponse(conn: TcpConnection, options: ReadOptions = {}): Promise<Response> {
  const what = options.what ? ` to ${options.what}` : '';
  const timeoutMs = options.timeoutMs ?? 5_000;
  const lines: string[] = [];
  let headBytes = 0;
  for (;;) {
    let line: string;
    try {
      line = await conn.readLine(timeoutMs, MAX_HEAD_BYTES);
    } catch (error) {
      const seen = lines.length === 0 ? 'nothing' : `only this head:\n${lines.join('\n')}`;
      throw new Error(`no whole response${what} within ${timeoutMs} ms (got ${seen}): ${(error as Error).message}`, { cause: error });
    }
    headBytes += line.length + 2;
    if (headBytes > MAX_HEAD_BYTES) throw new Error(`a response head${what} longer than ${MAX_HEAD_BYTES} bytes`);
    if (line === '') {
      if (lines.length === 0) throw new Error(`the response${what} starts with an empty line; it starts with the status line, HTTP/1.1 200 OK`);
      break;
    }
    lines.push(line);
  }
  const head = lines.join('\n');
  const status = /^(HTTP\/1\.[01]) (\d{3}) ?(.*)$/.exec(lines[0]!);
  if (!status) throw new Error(`the response${what} does not start with a status line like "HTTP/1.1 200 OK": ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const fields = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) throw new Error(`a header line${what} that is not "Name: value": ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  const code = Number(status[2]);
  const response = { version: status[1]!, status: code, reason: status[3]!, fields, head, body: Buffer.alloc(0) };
  const bodiless = options.head || code === 304 || code === 204 || (code >= 100 && code < 200);
  if (bodiless) return response;
  const lengths = fields.get('content-length');
  if (!lengths) throw new Error(`the ${code} response${what} has no Content-Length; every response with a body must say how long it is:\n${head}`);
  if (lengths.length !== 1 || !/^\d+$/.test(lengths[0]!))
    throw new Error(`the ${code} response${what} has Content-Length ${JSON.stringify(lengths)}; one decimal number`);
  const length = Number(lengths[0]);
  if (options.onBody) {
    await conn.consume(length, options.onBody, timeoutMs);
    return response;
  }
  try {
    return { ...response, body: await conn.read(length, timeoutMs) };
  } catch (error) {
    throw new Error(
      `the ${code} response${what} said Content-Length: ${length} but its body did not all come within ${timeoutMs} ms: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** Sends `data` and reads one response. */
export async function exchange(conn: TcpConnection, data: Buffer, options: ReadOptions = {}): Promise<Response> {
  await conn.write(data);
  const line = data.subarray(0, Math.max(0, data.indexOf(0x0d))).toString('latin1');
  return readResponse(conn, { what: line.replace(/ HTTP\/1\.[01]$/, ''), head: line.startsWith('HEAD '), ...options });
}

/** A 200 with exactly `body`, its Content-Type starting with `type` when given. */
export function expectFile(response: Response, body: Buffer, type?: string): void {
  expect(response.status, `status (expected 200):\n${response.head}`).toBe(200);
  expect(header(response, 'content-length'), 'Content-Length').toBe(String(body.length));
  if (type) expect(header(response, 'content-type') ?? '(none)', 'Content-Type').toMatch(new RegExp(`^${type.replace(/[+.]/g, '\\$&')}(;|$)`));
  if (!response.body.equals(body)) {
    throw new Error(`the body differs from the file: expected ${previewBytes(body.subarray(0, 48))}, got ${previewBytes(response.body.subarray(0, 48))}`);
  }
}

/** One of `statuses`, with a body exactly as long as its Content-Length says (readResponse checked that). */
export function expectStatus(response: Response, statuses: number | readonly number[], why: string): void {
  const allowed = typeof statuses === 'number' ? [statuses] : statuses;
  expect(allowed, `${why}: expected ${allowed.join(' or ')}, got ${response.status}:\n${response.head}`).toContain(response.status);
}

/** The response told the client the connection ends here, and it did. */
export async function expectClosedAfter(conn: TcpConnection, response: Response, why: string): Promise<void> {
  expect(header(response, 'connection')?.toLowerCase() ?? '(none)', `${why}: the response says Connection: close`).toBe('close');
  await conn.expectClosed(3_000).catch((error: Error) => {
    throw new Error(`${why}: the response said Connection: close, but the connection stayed open: ${error.message}`);
  });
}

// The web server: one process, an event loop, every connection a small state machine. A
// connection reads requests in order, answers one at a time (pipelined requests wait their
// turn in `input`), and streams files with backpressure, so a 1 GiB file to a slow client costs
// a few chunks of memory, and 10,000 idle connections cost a socket and two timers each.
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import net from 'node:net';
import type { Config } from './config.ts';
import { contentType, etagOf, httpDate, notModified, nowDate, rangeOf, REASONS, type RangeAnswer } from './headers.ts';
import { FileResolver, type Resolved } from './paths.ts';
import { bodyLength, leadingEmptyLines, MAX_HEADER_BYTES, MAX_REQUEST_LINE_BYTES, parseHead, RequestError, type Request } from './request.ts';

/** Unparsed input held while a response is under way; past it we stop reading (TCP holds the client back). */
const INPUT_LIMIT_BYTES = MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES + 4;
/** Files up to this size are read whole and sent with their head in one write: fewer syscalls and packets. */
const SMALL_FILE_BYTES = 64 * 1024;
/** After our last byte, how long a closing connection waits for the client's FIN before it is cut. */
const LINGER_MS = 2_000;

const SERVED = new Set(['GET', 'HEAD']);
/** Methods this server knows and refuses (405, with Allow); any other token is 501. */
const KNOWN = new Set(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT']);

interface Answer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string | number>>;
  /** An error's text (for a body of text/plain). */
  readonly text?: string;
}

/**
 * One client. The protected methods are the decisions a faulty variant changes
 * (grader/test/fixtures/http-server): how input is kept, when to close, the timers, how a body
 * and a range are sent.
 */
export class Connection {
  protected input: Buffer = Buffer.alloc(0);
  /** Bytes of a request body still to drop before the next request starts. */
  private skipping = 0;
  private busy = false;
  /** The request being answered is a HEAD: its answer has a head only, whatever the status. */
  protected headOnly = false;
  private closing = false;
  private peerEnded = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private headerTimer: NodeJS.Timeout | undefined;

  constructor(
    protected readonly socket: net.Socket,
    protected readonly server: HttpServer,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => {
      this.peerEnded = true;
      this.pump();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.disarm());
    this.pump();
  }

  protected receive(chunk: Buffer): void {
    if (this.closing) return;
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    this.pump();
  }

  /** Answers what is complete, one request at a time; then decides what waits and for how long. */
  private pump(): void {
    while (!this.busy && !this.closing) {
      if (this.skipping > 0) {
        const dropped = Math.min(this.skipping, this.input.length);
        this.skipping -= dropped;
        this.input = this.input.subarray(dropped);
        if (this.skipping > 0) break;
      }
      this.input = this.input.subarray(leadingEmptyLines(this.input));
      let parsed;
      try {
        parsed = parseHead(this.input);
        if (parsed) this.skipping = bodyLength(parsed.request);
      } catch (error) {
        if (!(error instanceof RequestError)) throw error;
        this.finish({ status: error.status, text: error.message }, true);
        return;
      }
      if (!parsed) break;
      this.input = this.input.subarray(parsed.headBytes);
      this.disarm();
      this.busy = true;
      this.answer(parsed.request).then(
        (close) => {
          this.busy = false;
          if (close) this.close();
          else this.pump();
        },
        () => this.socket.destroy(),
      );
    }
    if (this.busy || this.closing) {
      // Pipelined requests beyond what one head can hold wait in the client's socket, not here.
      if (this.input.length > INPUT_LIMIT_BYTES) this.socket.pause();
      return;
    }
    this.socket.resume();
    if (this.peerEnded) return this.close();
    this.armTimer(this.input.length === 0 && this.skipping === 0);
  }

  /**
   * Nothing of a next request (`idle`): closed silently after IDLE_TIMEOUT_MS. Some of one: its
   * head has HEADER_TIMEOUT_MS from its first byte, then 408.
   */
  protected armTimer(idle: boolean): void {
    const { idleTimeoutMs, headerTimeoutMs } = this.server.config;
    if (idle) {
      clearTimeout(this.headerTimer);
      this.headerTimer = undefined;
      this.idleTimer ??= setTimeout(() => this.socket.destroy(), idleTimeoutMs);
    } else {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      this.headerTimer ??= setTimeout(() => this.finish({ status: 408, text: `no whole request within ${headerTimeoutMs} ms` }, true), headerTimeoutMs);
    }
  }

  private disarm(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.headerTimer);
    this.idleTimer = this.headerTimer = undefined;
  }

  /** HTTP/1.0, or `Connection: close`: the connection ends with this request's answer. */
  protected closesAfter(request: Request): boolean {
    const connection = (request.headers.get('connection') ?? '')
      .toLowerCase()
      .split(',')
      .map((t) => t.trim());
    return request.minor === 0 || connection.includes('close');
  }

  /** Answers one request; true if the connection closes after it. */
  private async answer(request: Request): Promise<boolean> {
    this.headOnly = request.method === 'HEAD';
    // A client that half-closed still gets an answer to every whole request it sent; pump()
    // closes once none is left.
    const close = this.closesAfter(request);
    if (request.minor === 1 && request.counts.get('host') !== 1) return this.send({ status: 400, text: 'HTTP/1.1 needs exactly one Host' }, true);
    if (!SERVED.has(request.method)) {
      if (KNOWN.has(request.method)) return this.send({ status: 405, headers: { Allow: 'GET, HEAD' }, text: `${request.method} is not served here` }, close);
      return this.send({ status: 501, text: `${request.method} is not a method this server knows` }, close);
    }
    const resolved = await this.server.files.resolve(request.target);
    if (resolved.kind === 'refused') return this.send({ status: resolved.status, text: resolved.why }, resolved.status === 400 || close);
    if (resolved.kind === 'folder') return this.send({ status: 301, headers: { Location: resolved.location }, text: 'a folder: its path ends with /' }, close);
    let file: FileHandle;
    try {
      file = await open(resolved.file, 'r');
    } catch {
      return this.send({ status: 403, text: 'the file cannot be read' }, close);
    }
    try {
      return await this.sendFile(request, resolved.file, file, close);
    } finally {
      await file.close().catch(() => {});
    }
  }

  private async sendFile(request: Request, name: string, file: FileHandle, close: boolean): Promise<boolean> {
    const { size, mtimeMs } = await file.stat();
    const etag = etagOf(size, mtimeMs);
    const validators = { ETag: etag, 'Last-Modified': httpDate(Math.floor(mtimeMs / 1000) * 1000) };
    if (notModified(request.headers, etag, mtimeMs)) return this.send({ status: 304, headers: validators }, close);
    const range = request.method === 'GET' ? this.range(request.headers.get('range'), size) : ({ kind: 'whole' } as const);
    if (range.kind === 'unsatisfiable')
      return this.send({ status: 416, headers: { 'Content-Range': `bytes */${size}` }, text: `the file has ${size} bytes` }, close);
    const [start, end] = range.kind === 'part' ? [range.start, range.end] : [0, size - 1];
    const length = end - start + 1;
    const head = this.head(range.kind === 'part' ? 206 : 200, close, {
      'Content-Type': contentType(name),
      'Content-Length': length,
      'Accept-Ranges': 'bytes',
      ...validators,
      ...(range.kind === 'part' ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (request.method === 'HEAD' || length === 0) {
      await this.write(head);
      return close;
    }
    if (length <= SMALL_FILE_BYTES) {
      const body = Buffer.alloc(length);
      const { bytesRead } = await file.read(body, 0, length, start);
      await this.write(Buffer.concat([head, body.subarray(0, bytesRead)]));
      return close || bytesRead < length;
    }
    await this.write(head);
    await this.sendBody(file, start, end);
    return close;
  }

  protected range(header: string | undefined, size: number): RangeAnswer {
    return rangeOf(header, size);
  }

  /** Bytes `start` to `end` (inclusive) of the file, as fast as the client takes them and no faster. */
  protected async sendBody(file: FileHandle, start: number, end: number): Promise<void> {
    // pipe() pauses the file when write() says the socket's buffer is full and resumes on 'drain'.
    const stream = createReadStream('', { fd: file, start, end, autoClose: false, highWaterMark: 64 * 1024 });
    await new Promise<void>((resolve, reject) => {
      const gone = () => {
        stream.destroy();
        reject(new Error('the client went away'));
      };
      this.socket.once('close', gone);
      stream.once('error', reject);
      stream.once('end', () => {
        this.socket.off('close', gone);
        resolve();
      });
      stream.pipe(this.socket, { end: false });
    });
  }

  private head(status: number, close: boolean, headers: Readonly<Record<string, string | number>>): Buffer {
    let text = `HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\nDate: ${nowDate()}\r\nServer: netkata-reference\r\n`;
    for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
    if (close) text += 'Connection: close\r\n';
    return Buffer.from(`${text}\r\n`, 'latin1');
  }

  /** An answer without a file: a short text body (none for 304). */
  private async send(answer: Answer, close: boolean): Promise<boolean> {
    const body = answer.status === 304 ? '' : `${answer.status} ${REASONS[answer.status] ?? ''}: ${answer.text ?? ''}\n`;
    const headers =
      answer.status === 304
        ? { ...answer.headers }
        : { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...answer.headers };
    const head = this.head(answer.status, close, headers);
    await this.write(this.headOnly ? head : Buffer.concat([head, Buffer.from(body)]));
    return close;
  }

  /** Resolves once the kernel took the bytes (or at once, if it had room). */
  protected write(data: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.write(data)) resolve();
      else this.socket.once('drain', resolve);
    });
  }

  /** For broken requests and timeouts: answer, then close without reading what else came. */
  private finish(answer: Answer, close: boolean): void {
    this.disarm();
    this.headOnly = false;
    this.closing = true;
    void this.send(answer, close).then(() => this.close());
  }

  /**
   * Our FIN after the last byte, then a short wait for the client's before the socket is cut:
   * closing at once with unread input would make the kernel answer with a reset, which can
   * destroy the response in flight (RFC 9112 §9.6).
   */
  private close(): void {
    this.closing = true;
    this.disarm();
    this.socket.end();
    this.socket.resume();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }
}

export type ConnectionClass = new (socket: net.Socket, server: HttpServer) => Connection;

/** How a request target becomes a file, or a refusal. */
export interface Files {
  resolve(target: string): Promise<Resolved>;
}

export interface ServerOptions {
  /** What serves each connection (faulty variants extend Connection). */
  readonly connection?: ConnectionClass;
  /** How targets become files (faulty variants check less). */
  readonly files?: Files;
}

export class HttpServer {
  readonly files: Files;
  private readonly server: net.Server;

  constructor(
    readonly config: Config,
    options: ServerOptions = {},
  ) {
    this.files = options.files ?? new FileResolver(config.filesDir);
    const Serve = options.connection ?? Connection;
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => new Serve(socket, this));
  }

  listen(callback?: () => void): this {
    // A long backlog: 10,000 clients may connect in a burst.
    this.server.listen({ port: this.config.port, host: '0.0.0.0', backlog: 4096 }, callback);
    return this;
  }
}

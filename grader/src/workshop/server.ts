import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { BUILTIN_PROFILE_NAMES } from '../impairment/profile.ts';
import { renderPretty } from '../report/pretty.ts';
import type { GradeReport } from '../report/grade-report.ts';
import { visibleLine } from '../sanitize.ts';
import { UPLOAD_LIMITS, UploadError, unpackSubmission } from './archive.ts';
import { computeBoard, type BoardExercise, type BoardState } from './board.ts';
import { gradebookCsv, gradebookRows } from './gradebook.ts';
import { adminPage, boardPage, teamPage } from './pages.ts';
import type { GradeQueue } from './queue.ts';
import type { Submission, WorkshopStore } from './store.ts';
import { checkTeamName, newToken, tokenMatches } from './tokens.ts';

export interface WorkshopServerOptions {
  readonly store: WorkshopStore;
  readonly queue: GradeQueue;
  readonly exercises: readonly BoardExercise[];
  readonly title: string;
  /** Uploads a team may make per minute (a token bucket: this many at once, then one every 60/N s). */
  readonly uploadsPerMinute?: number;
  /** How an event stream is kept open through proxies and idle timeouts. */
  readonly heartbeatMs?: number;
  /** Open event streams of each kind at most (a room is tens of browsers; each stream holds a socket). */
  readonly maxStreams?: number;
  /** Told of every team added or given a new token (the command keeps the join commands). */
  readonly onTeamToken?: (name: string, token: string) => Promise<void>;
}

/** Rounds go from the exercises' own profiles to harder links; a facilitator names one of these. */
export const ROUND_PROFILES = ['manifest', ...BUILTIN_PROFILE_NAMES.filter((p) => p !== 'blackhole')] as const;

export const FROZEN_AT = 'frozen_at';
export const ADMIN_DIGEST = 'admin_token_digest';

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
}

/** A reply body that says what went wrong and what to do; the status code says the kind. */
function refuse(reply: FastifyReply, status: number, error: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error });
}

/**
 * Server-sent events, written on the raw response. Hand-written: the protocol is three kinds of
 * line, and the fastify plugins for it (@fastify/sse and others) are pre-1.0 or unkept.
 */
class EventStreams<K> {
  private readonly clients = new Map<ServerResponse, K>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    heartbeatMs: number,
    private readonly max: number,
  ) {
    this.heartbeat = setInterval(() => {
      for (const raw of this.clients.keys()) raw.write(': still here\n\n');
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  open(reply: FastifyReply, key: K, first: () => unknown): FastifyReply | undefined {
    if (this.clients.size >= this.max)
      return refuse(reply.header('retry-after', '10'), 503, `the workshop server holds ${this.max} open streams already; close a tab or two and reload`);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n\n');
    this.clients.set(raw, key);
    raw.on('close', () => this.clients.delete(raw));
    this.send(raw, 'update', first());
  }

  send(raw: ServerResponse, event: string, data: unknown): void {
    raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  each(visit: (raw: ServerResponse, key: K) => void): void {
    for (const [raw, key] of this.clients) visit(raw, key);
  }

  get size(): number {
    return this.clients.size;
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const raw of this.clients.keys()) raw.end();
    this.clients.clear();
  }
}

/**
 * The workshop's HTTP side: the board and its event stream for the room, uploads and results
 * for teams (each with its own token), and the facilitator's controls (the admin token).
 * Teams never see another team's code or transcripts: a report is served to its own team only.
 */
export async function buildWorkshopServer(options: WorkshopServerOptions): Promise<FastifyInstance> {
  const { store, queue } = options;
  const uploadsPerMinute = options.uploadsPerMinute ?? 6;
  // A team's upload may be slow on a crowded Wi-Fi, but not endless.
  const app = Fastify({ bodyLimit: UPLOAD_LIMITS.compressedBytes, requestTimeout: 120_000, logger: false });
  app.addContentTypeParser(['application/gzip', 'application/octet-stream'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return refuse(reply, 413, `the upload is over the limit of ${UPLOAD_LIMITS.compressedBytes / 1024 / 1024} MiB; leave build output and data files out`);
    if (error.statusCode && error.statusCode < 500) return refuse(reply, error.statusCode, visibleLine(error.message, 300));
    return refuse(reply, 500, `the workshop server failed: ${visibleLine(error.message, 300)}`);
  });

  const boards = (round: number | undefined, live: boolean): BoardState =>
    computeBoard({
      title: options.title,
      teams: store.teams(),
      exercises: options.exercises,
      rounds: store.rounds(),
      round: round ?? store.currentRound()!.id,
      submissions: store.submissions(),
      frozenAt: live ? null : (store.getMeta(FROZEN_AT) ?? null),
    });
  const roundParam = (request: FastifyRequest): number | undefined => {
    const value = Number((request.query as { round?: string }).round);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };

  // The room's board, and one stream of updates per open board (its round: the current one unless it asked for another).
  const boardStreams = new EventStreams<{ round: number | undefined; live: boolean }>(options.heartbeatMs ?? 15_000, options.maxStreams ?? 500);
  const submissionStreams = new EventStreams<number>(options.heartbeatMs ?? 15_000, options.maxStreams ?? 500);
  let pending: NodeJS.Timeout | undefined;
  const changed = () => {
    // A burst of changes (a grade finishing, the next starting) is one update.
    pending ??= setTimeout(() => {
      pending = undefined;
      const cache = new Map<string, BoardState>();
      boardStreams.each((raw, key) => {
        const id = `${key.round ?? 'current'}/${key.live}`;
        if (!cache.has(id)) cache.set(id, boards(key.round, key.live));
        boardStreams.send(raw, 'update', cache.get(id));
      });
    }, 50);
  };
  const submissionView = (s: Submission) => ({ ...s, position: queue.position(s.id) });
  const stopListening = queue.onEvent((event) => {
    changed();
    submissionStreams.each((raw, id) => {
      if (id !== event.id) return;
      const submission = store.submission(id)!;
      submissionStreams.send(raw, 'update', submissionView(submission));
      if (event.kind === 'finished' || event.kind === 'replaced') {
        submissionStreams.send(raw, 'done', { submission: submissionView(submission), report: parseReport(store.report(id)) });
        raw.end();
      }
    });
    // Everyone behind the one that moved moved up.
    if (event.kind === 'grading' || event.kind === 'replaced')
      submissionStreams.each((raw, id) => {
        const submission = store.submission(id);
        if (submission?.status === 'queued') submissionStreams.send(raw, 'update', submissionView(submission));
      });
  });
  // Before the server stops listening: open event streams would otherwise hold close() until the browsers go.
  app.addHook('preClose', async () => {
    stopListening();
    clearTimeout(pending);
    boardStreams.close();
    submissionStreams.close();
  });

  const isAdmin = (request: FastifyRequest) => tokenMatches(bearer(request), store.getMeta(ADMIN_DIGEST));
  const adminOnly = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isAdmin(request)) return refuse(reply, 401, "the facilitator's admin token is missing or wrong (it is printed by netkata workshop serve)");
  };
  /** The team a request speaks for, checked against its token; a refusal is sent otherwise. */
  const teamOf = (request: FastifyRequest, reply: FastifyReply, name: string | undefined): string | undefined => {
    if (!name) return void refuse(reply, 400, 'say which team you are (netkata submit --team NAME)');
    const digest = store.teamDigest(name);
    if (!digest)
      return void refuse(reply, 404, `no team ${JSON.stringify(visibleLine(name, 40))} is registered here; ask the facilitator for your join command`);
    if (!tokenMatches(bearer(request), digest))
      return void refuse(reply, 401, `the token for team ${name} is missing or wrong; use the token from your join command (or NETKATA_TOKEN)`);
    return name;
  };

  const buckets = new Map<string, { tokens: number; at: number }>();
  /** Takes one upload from the team's bucket; the seconds to wait when it is empty. */
  const takeUpload = (team: string): number => {
    const now = Date.now();
    const refillMs = 60_000 / uploadsPerMinute;
    const bucket = buckets.get(team) ?? { tokens: uploadsPerMinute, at: now };
    bucket.tokens = Math.min(uploadsPerMinute, bucket.tokens + (now - bucket.at) / refillMs);
    bucket.at = now;
    buckets.set(team, bucket);
    if (bucket.tokens < 1) return Math.ceil(((1 - bucket.tokens) * refillMs) / 1000);
    bucket.tokens -= 1;
    return 0;
  };

  app.get('/', async (request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(boardPage(options.title)));
  app.get('/team/:name', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(teamPage()));
  app.get('/admin', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(adminPage(ROUND_PROFILES)));

  app.get('/api/board', async (request, reply) => {
    const live = (request.query as { live?: string }).live !== undefined;
    if (live && !isAdmin(request)) return refuse(reply, 401, 'the live board (past a freeze) is for the facilitator: send the admin token');
    return boards(roundParam(request), live);
  });
  app.get('/api/events', async (request, reply) => {
    const live = (request.query as { live?: string }).live !== undefined;
    if (live && !isAdmin(request)) return refuse(reply, 401, 'the live board (past a freeze) is for the facilitator: send the admin token');
    const round = roundParam(request);
    return boardStreams.open(reply, { round, live }, () => boards(round, live));
  });

  app.post(
    '/api/submissions',
    {
      // Before a byte of the body is read: a wrong token or a flooding team costs nothing.
      onRequest: async (request, reply) => {
        const team = teamOf(request, reply, request.headers['x-netkata-team'] as string | undefined);
        if (!team) return reply;
        const exercise = (request.query as { exercise?: string }).exercise;
        if (!exercise || !options.exercises.some((e) => e.id === exercise))
          return refuse(
            reply,
            400,
            `this workshop grades ${options.exercises.map((e) => e.id).join(', ')}; not ${JSON.stringify(visibleLine(exercise ?? '', 40))}`,
          );
        const wait = takeUpload(team);
        if (wait > 0)
          return refuse(
            reply.header('retry-after', String(wait)),
            429,
            `team ${team} uploads at most ${uploadsPerMinute} times a minute; try again in ${wait} s`,
          );
      },
    },
    async (request, reply) => {
      const team = request.headers['x-netkata-team'] as string;
      const exercise = (request.query as { exercise: string }).exercise;
      if (!Buffer.isBuffer(request.body)) return refuse(reply, 415, 'send the upload as application/gzip (netkata submit packs it)');
      const incoming = path.join(store.dir, 'uploads', `incoming-${randomBytes(6).toString('hex')}`);
      await mkdir(path.dirname(incoming), { recursive: true });
      try {
        await unpackSubmission(request.body, incoming);
      } catch (error) {
        await rm(incoming, { recursive: true, force: true });
        if (error instanceof UploadError) return refuse(reply, 400, error.message);
        throw error;
      }
      const { submission, replaced } = store.addSubmission(team, exercise);
      await rename(incoming, store.uploadPath(submission.id));
      for (const id of replaced) await rm(store.uploadPath(id), { recursive: true, force: true });
      queue.added(submission, replaced);
      return reply.code(202).send(submissionView(store.submission(submission.id)!));
    },
  );

  const ownSubmission = (request: FastifyRequest, reply: FastifyReply): Submission | undefined => {
    const id = Number((request.params as { id: string }).id);
    const submission = Number.isInteger(id) ? store.submission(id) : undefined;
    // Unknown and another team's look the same: ids are not a way to learn about other teams.
    const team = teamOf(request, reply, request.headers['x-netkata-team'] as string | undefined);
    if (!team) return undefined;
    if (!submission || submission.team !== team) return void refuse(reply, 404, `team ${team} has no submission #${visibleLine(String(id), 20)}`);
    return submission;
  };
  app.get('/api/submissions/:id', async (request, reply) => {
    const submission = ownSubmission(request, reply);
    if (!submission) return reply;
    return { submission: submissionView(submission), report: parseReport(store.report(submission.id)) };
  });
  app.get('/api/submissions/:id/events', async (request, reply) => {
    const submission = ownSubmission(request, reply);
    if (!submission) return reply;
    if (submission.status !== 'queued' && submission.status !== 'grading') {
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
      submissionStreams.send(raw, 'done', { submission: submissionView(submission), report: parseReport(store.report(submission.id)) });
      raw.end();
      return;
    }
    return submissionStreams.open(reply, submission.id, () => submissionView(store.submission(submission.id)!));
  });
  app.get('/api/teams/:name/submissions', async (request, reply) => {
    const team = teamOf(request, reply, (request.params as { name: string }).name);
    if (!team) return reply;
    return store
      .submissions({ team })
      .reverse()
      .map((s) => {
        const report = parseReport(store.report(s.id));
        return { submission: submissionView(s), text: report ? renderPretty(report, { color: false }) : null };
      });
  });

  app.post('/api/admin/round', { onRequest: adminOnly }, async (request, reply) => {
    const profile = (request.body as { profile?: unknown } | undefined)?.profile;
    if (typeof profile !== 'string' || !(ROUND_PROFILES as readonly string[]).includes(profile))
      return refuse(reply, 400, `a round's profile is one of ${ROUND_PROFILES.join(', ')} (manifest: each exercise's own)`);
    const round = store.startRound(profile === 'manifest' ? null : profile);
    changed();
    return round;
  });
  app.post('/api/admin/freeze', { onRequest: adminOnly }, async () => {
    if (!store.getMeta(FROZEN_AT)) store.setMeta(FROZEN_AT, new Date().toISOString());
    changed();
    return { frozenAt: store.getMeta(FROZEN_AT) };
  });
  app.post('/api/admin/reveal', { onRequest: adminOnly }, async () => {
    store.setMeta(FROZEN_AT, undefined);
    changed();
    return { frozenAt: null };
  });
  app.post('/api/admin/teams', { onRequest: adminOnly }, async (request, reply) => {
    const name = (request.body as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string') return refuse(reply, 400, 'send {"name": "..."}');
    try {
      checkTeamName(name);
    } catch (error) {
      return refuse(reply, 400, (error as Error).message);
    }
    const token = newToken();
    const outcome = store.putTeam(name, token);
    await options.onTeamToken?.(name, token);
    changed();
    return { name, token, outcome };
  });
  app.get('/api/admin/gradebook', { onRequest: adminOnly }, async (request, reply) => {
    const format = (request.query as { format?: string }).format ?? 'json';
    const rows = gradebookRows(store, options.exercises, roundParam(request));
    if (format === 'csv')
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="gradebook.csv"')
        .send(gradebookCsv(rows, options.exercises));
    if (format !== 'json') return refuse(reply, 400, 'format is csv or json');
    return rows;
  });
  app.get('/api/admin/status', { onRequest: adminOnly }, async () => ({
    streams: { board: boardStreams.size, submissions: submissionStreams.size },
    grading: queue.grading,
    waiting: store.queued().length,
  }));
  return app;
}

function parseReport(text: string | undefined): GradeReport | undefined {
  return text ? (JSON.parse(text) as GradeReport) : undefined;
}

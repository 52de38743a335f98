import { readFile, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { findExercise, listExercises } from '../catalog/catalog.ts';
import { ConfigError } from '../errors.ts';
import type { BackendChoice } from '../impairment/backend-commands.ts';
import type { BuildMode } from '../images/ensure-image.ts';
import type { Lifetime } from '../lifetime.ts';
import type { BoardExercise } from '../workshop/board.ts';
import { GradeQueue, type GradeUpload } from '../workshop/queue.ts';
import { ADMIN_DIGEST, buildWorkshopServer, FROZEN_AT, ROUND_PROFILES } from '../workshop/server.ts';
import { WorkshopStore } from '../workshop/store.ts';
import { checkTeamName, newToken, tokenDigest } from '../workshop/tokens.ts';
import { grade } from './grade.ts';

/** What `serve` leaves in the folder for the other workshop commands and for a restart. */
const ADMIN_TOKEN_FILE = 'admin-token';
const SERVER_FILE = 'server.json';
/** The join commands printed so far, for a facilitator who closed the terminal (0600, like the admin token). */
const JOIN_FILE = 'join-commands.txt';

export const DEFAULT_WORKSHOP_PORT = 7878;

export interface ServeOptions {
  readonly dir: string;
  readonly port: number;
  /** Where to listen: every interface by default, so that laptops on the room's network reach it. */
  readonly host: string;
  /** The address teams use, when the one guessed from this machine's interfaces is not it (a NAT, a name). */
  readonly url?: string;
  readonly teams: readonly string[];
  /** The exercises graded; empty: the ones named when the workshop was first served, else all. */
  readonly exercises: readonly string[];
  readonly jobs: number;
  readonly title?: string;
  readonly buildMode: BuildMode;
  readonly impairment: BackendChoice;
  readonly lifetime: Lifetime;
  /** For tests: a grader other than the sandboxed `grade` (the server never grades any other way in use). */
  readonly gradeUpload?: GradeUpload;
}

/** A team's join command and page, as printed and kept in the join file. */
function joinLines(url: string, team: string, token: string): string {
  return `${team}: npx netkata submit --to ${url} --team ${team} --token ${token}\n${team}: its page ${url}/team/${team}#token=${token}`;
}

/** The address to print: the first IPv4 address of an interface that is up and not loopback. */
function guessUrl(host: string, port: number): string {
  if (host !== '0.0.0.0' && host !== '::') return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  return `http://${address ?? '127.0.0.1'}:${port}`;
}

async function writeSecret(file: string, text: string, append = false): Promise<void> {
  await writeFile(file, text, { mode: 0o600, flag: append ? 'a' : 'w' });
}

/** The admin token: made on the first serve, kept in the folder (0600), its digest in the store. */
async function adminToken(store: WorkshopStore): Promise<string> {
  const file = path.join(store.dir, ADMIN_TOKEN_FILE);
  const kept = await readFile(file, 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );
  const token = kept || newToken();
  if (!kept) await writeSecret(file, `${token}\n`);
  if (store.getMeta(ADMIN_DIGEST) !== tokenDigest(token)) store.setMeta(ADMIN_DIGEST, tokenDigest(token));
  return token;
}

/** The board's exercises: named now, else as first served, else every exercise of the repository. */
async function workshopExercises(store: WorkshopStore, named: readonly string[]): Promise<BoardExercise[]> {
  const stored = store.getMeta('exercises');
  const wanted = named.length > 0 ? named : stored ? (JSON.parse(stored) as string[]) : (await listExercises()).map((e) => e.manifest.id);
  const chosen = await Promise.all(wanted.map((name) => findExercise(name)));
  store.setMeta('exercises', JSON.stringify(chosen.map((e) => e.manifest.id)));
  return chosen.map((e) => ({
    id: e.manifest.id,
    title: e.manifest.title,
    maxPoints: e.manifest.stages.reduce((sum, s) => sum + s.points, 0),
    stageCount: e.manifest.stages.length,
  }));
}

export interface RunningWorkshop {
  readonly url: string;
  readonly adminToken: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * `netkata workshop serve`: the store, the grading line and the HTTP server, until the lifetime
 * ends (Ctrl-C). Uploads are graded only in the sandbox (the Docker runtime, never the local
 * one): they are other people's code.
 */
export async function serveWorkshop(options: ServeOptions): Promise<RunningWorkshop> {
  const dir = path.resolve(options.dir);
  const store = WorkshopStore.open(dir);
  const admin = await adminToken(store);
  const exercises = await workshopExercises(store, options.exercises);
  const title = options.title ?? store.getMeta('title') ?? 'netkata workshop';
  store.setMeta('title', title);
  const gradeUpload: GradeUpload =
    options.gradeUpload ??
    (({ exercise, dir: submission, profile }) =>
      grade({
        exercise,
        submission,
        runtime: 'docker',
        buildMode: options.buildMode,
        impairment: options.impairment,
        ...(profile && { profile }),
        // Stops at the first failing stage: the team sees the one thing to fix, and the line moves.
        all: false,
        lifetime: options.lifetime,
        progress: false,
      }));
  const queue = new GradeQueue(store, gradeUpload, options.jobs, () => options.lifetime.ended);
  let url = options.url?.replace(/\/+$/, '') ?? '';
  // Teams added from the admin page or `workshop team add` while this runs: their join commands are kept too.
  const onTeamToken = (team: string, token: string) => writeSecret(path.join(dir, JOIN_FILE), `${joinLines(url, team, token)}\n`, true);
  const app = await buildWorkshopServer({ store, queue, exercises, title, onTeamToken });
  await app.listen({ port: options.port, host: options.host });
  const port = (app.server.address() as { port: number }).port;
  url ||= guessUrl(options.host, port);
  await writeFile(path.join(dir, SERVER_FILE), `${JSON.stringify({ url, port, pid: process.pid }, null, 2)}\n`);
  queue.start();

  const lines = [
    `netkata workshop "${title}" in ${dir}`,
    `board:     ${url}/   (projector: ${url}/?projector)`,
    `admin:     ${url}/admin#token=${admin}`,
    `admin token: ${admin}`,
  ];
  const joins: string[] = [];
  for (const raw of options.teams) {
    const team = checkTeamName(raw);
    if (store.teamDigest(team)) {
      lines.push(`team ${team}: registered earlier, its token unchanged (see ${JOIN_FILE}; netkata workshop team add ${team} gives it a new one)`);
      continue;
    }
    const token = newToken();
    store.putTeam(team, token);
    joins.push(joinLines(url, team, token));
  }
  if (joins.length > 0) {
    lines.push('join commands, one per team:', ...joins);
    await writeSecret(path.join(dir, JOIN_FILE), `${joins.join('\n')}\n`, true);
  }
  lines.push(
    `grading ${exercises.map((e) => e.id).join(', ')}; round ${store.currentRound()!.id} (${store.currentRound()!.profile ?? "each exercise's own profile"}); Ctrl-C stops, serve again to continue`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      queue.stop();
      await app.close();
      store.close();
    })());
  options.lifetime.hold({ [Symbol.asyncDispose]: close });
  return { url, adminToken: admin, port, close };
}

/** What a workshop command does when no server runs on the folder: the same change, in the store. */
type Offline = (store: WorkshopStore) => unknown;

/**
 * A facilitator's command (`team add`, `round`, `freeze`, `reveal`): sent to the folder's
 * running server (on loopback, with the admin token), so the board updates at once; done in
 * the store directly when none runs, for the next serve to show.
 */
async function adminCommand(dir: string, method: 'POST', route: string, body: unknown, offline: Offline): Promise<unknown> {
  const folder = path.resolve(dir);
  const server = await readFile(path.join(folder, SERVER_FILE), 'utf8').then(
    (t) => JSON.parse(t) as { port: number; url: string },
    () => undefined,
  );
  const token = await readFile(path.join(folder, ADMIN_TOKEN_FILE), 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );
  if (server && token) {
    const response = await fetch(`http://127.0.0.1:${server.port}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
      signal: AbortSignal.timeout(10_000),
    }).catch((error: Error & { cause?: { code?: string } }) => {
      if (error.cause?.code === 'ECONNREFUSED') return undefined;
      throw new ConfigError(`the workshop server of ${folder} did not answer on port ${server.port}: ${error.message}`);
    });
    if (response) {
      const answer = (await response.json()) as { error?: string };
      if (!response.ok) throw new ConfigError(answer.error ?? `the workshop server answered ${response.status}`);
      return { ...answer, url: server.url };
    }
  }
  const store = WorkshopStore.open(folder);
  try {
    return { ...(offline(store) as object), url: server?.url };
  } finally {
    store.close();
  }
}

export async function addTeam(dir: string, name: string): Promise<string> {
  checkTeamName(name);
  let offline = false;
  const answer = (await adminCommand(dir, 'POST', '/api/admin/teams', { name }, (store) => {
    offline = true;
    const token = newToken();
    return { name, token, outcome: store.putTeam(name, token) };
  })) as { token: string; outcome: 'added' | 'rotated'; url?: string };
  const url = answer.url ?? `http://THIS-MACHINE:${DEFAULT_WORKSHOP_PORT}`;
  const join = joinLines(url, name, answer.token);
  // A running server keeps the join command itself (onTeamToken).
  if (offline) await writeSecret(path.join(path.resolve(dir), JOIN_FILE), `${join}\n`, true);
  return `${answer.outcome === 'rotated' ? `team ${name} has a new token; the old one no longer works` : `team ${name} added`}\n${join}\n`;
}

export async function startRound(dir: string, profile: string): Promise<string> {
  if (!(ROUND_PROFILES as readonly string[]).includes(profile))
    throw new ConfigError(`a round's profile is one of ${ROUND_PROFILES.join(', ')} (manifest: each exercise's own), not "${profile}"`);
  const round = (await adminCommand(dir, 'POST', '/api/admin/round', { profile }, (store) => store.startRound(profile === 'manifest' ? null : profile))) as {
    id: number;
  };
  return `round ${round.id} started: every grade from now runs under ${profile === 'manifest' ? "each exercise's own profile" : profile}\n`;
}

export async function setFrozen(dir: string, frozen: boolean): Promise<string> {
  await adminCommand(dir, 'POST', frozen ? '/api/admin/freeze' : '/api/admin/reveal', {}, (store) =>
    store.setMeta(FROZEN_AT, frozen ? (store.getMeta(FROZEN_AT) ?? new Date().toISOString()) : undefined),
  );
  return frozen ? 'the board is frozen: the room sees the standings of now until you reveal\n' : 'the board shows the standings again\n';
}

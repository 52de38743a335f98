import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterEach, describe, expect, test } from 'vitest';
import type { GradeReport } from '../src/report/grade-report.ts';
import { standInReport } from './helpers/stand-in-report.ts';
import { packSubmission, unpackSubmission, UPLOAD_LIMITS, UploadError } from '../src/workshop/archive.ts';
import { computeBoard } from '../src/workshop/board.ts';
import { gradebookCsv, gradebookRows } from '../src/workshop/gradebook.ts';
import { GradeQueue, type GradeUpload } from '../src/workshop/queue.ts';
import { ADMIN_DIGEST, buildWorkshopServer } from '../src/workshop/server.ts';
import { WorkshopStore } from '../src/workshop/store.ts';
import { checkTeamName, newToken, tokenDigest } from '../src/workshop/tokens.ts';

const gzipAsync = promisify(gzip);
const cleanup: string[] = [];
afterEach(async () => {
  for (const dir of cleanup.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function scratch(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-workshop-test-'));
  cleanup.push(dir);
  return dir;
}

/** A tar built entry by entry, as an attacker would, gzipped. */
async function hostileTar(entries: ReadonlyArray<Partial<tar.Header> & { name: string; body?: string | Buffer }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const { body, ...header } of entries) pack.entry(header, body ?? '');
  pack.finalize();
  await done;
  return gzipAsync(Buffer.concat(chunks));
}

describe('uploads (archive.ts)', () => {
  test('a folder packs and unpacks to the same files, without node_modules or .git', async () => {
    const source = await scratch();
    await mkdir(path.join(source, 'src', 'deep'), { recursive: true });
    await mkdir(path.join(source, 'node_modules', 'x'), { recursive: true });
    await mkdir(path.join(source, '.git'));
    await writeFile(path.join(source, 'src', 'main.ts'), 'console.log(1)\n');
    await writeFile(path.join(source, 'src', 'deep', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(path.join(source, 'node_modules', 'x', 'index.js'), 'junk');
    await writeFile(path.join(source, '.git', 'HEAD'), 'ref');
    const dest = path.join(await scratch(), 'out');
    const unpacked = await unpackSubmission(await packSubmission(source), dest);
    expect(unpacked.files).toBe(2);
    expect((await readdir(dest, { recursive: true })).sort()).toEqual(['src', 'src/deep', 'src/deep/run.sh', 'src/main.ts']);
  });

  test('packing refuses a symbolic link instead of following or dropping it', async () => {
    const source = await scratch();
    await symlink('/etc/passwd', path.join(source, 'passwd'));
    await expect(packSubmission(source)).rejects.toThrow(/passwd is a symbolic link/);
  });

  const refused: Array<[string, ReadonlyArray<Partial<tar.Header> & { name: string; body?: string }>, RegExp]> = [
    ['a parent-folder escape', [{ name: '../escape.txt', body: 'x' }], /"\.\."/],
    ['an escape inside the name', [{ name: 'src/../../escape.txt', body: 'x' }], /"\.\."/],
    ['an absolute path', [{ name: '/tmp/netkata-absolute.txt', body: 'x' }], /absolute path/],
    ['a symbolic link', [{ name: 'link', type: 'symlink', linkname: '/etc/passwd' }], /symlink entry/],
    ['a hard link', [{ name: 'hard', type: 'link', linkname: '/etc/passwd' }], /link entry/],
    ['a device', [{ name: 'dev', type: 'character-device', devmajor: 1, devminor: 3 }], /character-device entry/],
    ['a control character in a name', [{ name: 'a\u001b[2Jb', body: 'x' }], /control character/],
    [
      'a file twice',
      [
        { name: 'a.ts', body: 'x' },
        { name: 'a.ts', body: 'y' },
      ],
      /appears twice/,
    ],
    [
      'a file that is also a folder',
      [
        { name: 'a', body: 'x' },
        { name: 'a/b.ts', body: 'y' },
      ],
      /is a file in the upload and also a folder/,
    ],
  ];
  test.each(refused)('unpacking refuses %s and writes nothing', async (_what, entries, message) => {
    const root = await scratch();
    const dest = path.join(root, 'out');
    // A harmless file first: it must not be written either.
    await expect(unpackSubmission(await hostileTar([{ name: 'ok.ts', body: 'fine' }, ...entries]), dest)).rejects.toThrow(message);
    expect(await readdir(root)).toEqual([]);
  });

  test('a gzip bomb stops at the unpacked limit', async () => {
    const bomb = await hostileTar([{ name: 'zeros', body: Buffer.alloc(UPLOAD_LIMITS.unpackedBytes + 8 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(UPLOAD_LIMITS.compressedBytes);
    await expect(unpackSubmission(bomb, path.join(await scratch(), 'out'))).rejects.toThrow(/unpacks to more than 32\.0 MiB/);
  });

  test('bytes that are not a gzipped tar are refused with what to do', async () => {
    await expect(unpackSubmission(Buffer.from('hello'), path.join(await scratch(), 'out'))).rejects.toThrow(/not a gzipped tar/);
    await expect(unpackSubmission(await gzipAsync(Buffer.from('not a tar at all')), path.join(await scratch(), 'out'))).rejects.toThrow(UploadError);
  });
});

test('team names and tokens', () => {
  expect(checkTeamName('team-7')).toBe('team-7');
  for (const bad of ['', 'Team', '-x', 'a b', 'x'.repeat(33), '../a', 'é']) expect(() => checkTeamName(bad)).toThrow(/lower-case/);
  const token = newToken();
  expect(token).toMatch(/^[A-Za-z0-9_-]{24}$/);
  expect(newToken()).not.toBe(token);
  expect(tokenDigest(token)).toHaveLength(64);
});

describe('store and board', () => {
  test('a reopened store holds the same teams, rounds and results, and requeues an interrupted grade', async () => {
    const dir = await scratch();
    const store = WorkshopStore.open(dir);
    store.putTeam('alpha', 'secret-a');
    const first = store.addSubmission('alpha', 'echo-server').submission;
    const second = store.addSubmission('alpha', 'echo-server');
    expect(second.replaced).toEqual([first.id]);
    store.markGrading(second.submission.id);
    store.startRound('lossy');
    store.close();
    const again = WorkshopStore.open(dir);
    expect(again.teams()).toEqual(['alpha']);
    expect(again.teamDigest('alpha')).toBe(tokenDigest('secret-a'));
    expect(again.currentRound()?.profile).toBe('lossy');
    expect(again.submission(first.id)?.status).toBe('replaced');
    expect(again.requeueInterrupted()).toBe(1);
    expect(again.queued().map((s) => s.id)).toEqual([second.submission.id]);
    again.close();
  });

  test('the board ranks by points then time, marks the first pass, and a freeze hides later grades', async () => {
    const store = WorkshopStore.open(await scratch());
    for (const t of ['alpha', 'beta', 'gamma']) store.putTeam(t, t);
    const finish = (team: string, points: number) => {
      const { submission } = store.addSubmission(team, 'echo-server');
      store.finish(submission.id, { status: points === 10 ? 'pass' : 'fail', points, maxPoints: 10, stagesPassed: points / 5, stageCount: 2 });
      return submission.id;
    };
    finish('beta', 10);
    await new Promise((r) => setTimeout(r, 5));
    finish('alpha', 10);
    finish('gamma', 5);
    const exercises = [{ id: 'echo-server', title: 'Echo', maxPoints: 10, stageCount: 2 }];
    const board = (frozenAt: string | null) =>
      computeBoard({
        title: 't',
        teams: store.teams(),
        exercises,
        rounds: store.rounds(),
        round: store.currentRound()!.id,
        submissions: store.submissions(),
        frozenAt,
      });
    const now = board(null);
    expect(now.rows.map((r) => [r.team, r.points])).toEqual([
      ['beta', 10],
      ['alpha', 10],
      ['gamma', 5],
    ]);
    expect(now.rows[0]!.cells['echo-server']!.first).toBe(true);
    expect(now.rows[1]!.cells['echo-server']!.first).toBe(false);
    const frozenAt = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    finish('gamma', 10);
    expect(board(frozenAt).rows.find((r) => r.team === 'gamma')!.points).toBe(5);
    expect(board(null).rows.find((r) => r.team === 'gamma')!.points).toBe(10);
    // A new round starts from nothing; the old one keeps its results.
    store.startRound('chaos');
    expect(board(null).rows.every((r) => r.points === 0)).toBe(true);
    store.close();
  });
});

describe('the server', () => {
  const exercises = [{ id: 'echo-server', title: 'Echo server', maxPoints: 10, stageCount: 2 }];

  async function serve(gradeUpload: GradeUpload, uploadsPerMinute = 6, maxStreams?: number) {
    const dir = await scratch();
    const store = WorkshopStore.open(dir);
    store.setMeta(ADMIN_DIGEST, tokenDigest('admin-secret'));
    store.putTeam('alpha', 'token-a');
    store.putTeam('beta', 'token-b');
    const queue = new GradeQueue(store, gradeUpload);
    const app = await buildWorkshopServer({ store, queue, exercises, title: 'Test workshop', uploadsPerMinute, ...(maxStreams && { maxStreams }) });
    queue.start();
    const source = await scratch();
    await writeFile(path.join(source, 'main.ts'), 'export {}\n');
    const upload = await packSubmission(source);
    const post = (team: string, token: string | undefined, body: Buffer = upload, exercise = 'echo-server') =>
      app.inject({
        method: 'POST',
        url: `/api/submissions?exercise=${exercise}`,
        headers: { 'content-type': 'application/gzip', 'x-netkata-team': team, ...(token && { authorization: `Bearer ${token}` }) },
        payload: body,
      });
    return { dir, store, queue, app, post, [Symbol.asyncDispose]: async () => (queue.stop(), await app.close(), store.close()) };
  }

  test('bad requests are refused with what to do, and change nothing', async () => {
    const graded: string[] = [];
    await using s = await serve(async ({ dir }) => (graded.push(dir), standInReport('echo-server', 10, 10, [5, 5])));
    const cases: Array<[Promise<{ statusCode: number; json(): { error: string } }>, number, RegExp]> = [
      [s.post('alpha', undefined), 401, /token for team alpha is missing or wrong/],
      [s.post('alpha', 'token-b'), 401, /token for team alpha/],
      [s.post('nobody', 'token-a'), 404, /no team "nobody" is registered/],
      [s.post('alpha', 'token-a', undefined, 'chat-server'), 400, /grades echo-server; not "chat-server"/],
      [s.post('alpha', 'token-a', Buffer.from('garbage')), 400, /not a gzipped tar/],
      [s.post('alpha', 'token-a', Buffer.alloc(UPLOAD_LIMITS.compressedBytes + 1)), 413, /over the limit of 8 MiB/],
    ];
    for (const [response, status, message] of cases) {
      const r = await response;
      expect(r.statusCode).toBe(status);
      expect(r.json().error).toMatch(message);
    }
    expect(s.store.submissions()).toEqual([]);
    expect(graded).toEqual([]);
    expect(await readdir(path.join(s.dir, 'uploads')).catch(() => [])).toEqual([]);
    const admin = await s.app.inject({ method: 'POST', url: '/api/admin/round', payload: { profile: 'chaos' }, headers: { authorization: 'Bearer token-a' } });
    expect(admin.statusCode).toBe(401);
    expect(s.store.rounds()).toHaveLength(1);
  });

  test('an upload is graded, shown on the board, and its report is its own team’s only', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await using s = await serve(async () => (await gate, standInReport('echo-server', 5, 10, [5, 0])));
    const accepted = await s.post('alpha', 'token-a');
    expect(accepted.statusCode).toBe(202);
    const { id } = accepted.json<{ id: number }>();
    expect(s.store.submission(id)?.status).toBe('grading');
    release();
    await expect.poll(() => s.store.submission(id)?.status).toBe('fail');
    const board = (await s.app.inject('/api/board')).json<{ rows: Array<{ team: string; points: number }> }>();
    expect(board.rows.find((r) => r.team === 'alpha')?.points).toBe(5);
    const own = await s.app.inject({ url: `/api/submissions/${id}`, headers: { authorization: 'Bearer token-a', 'x-netkata-team': 'alpha' } });
    expect(own.statusCode).toBe(200);
    expect(own.json<{ report: GradeReport }>().report.points).toBe(5);
    const other = await s.app.inject({ url: `/api/submissions/${id}`, headers: { authorization: 'Bearer token-b', 'x-netkata-team': 'beta' } });
    expect(other.statusCode).toBe(404);
    const list = await s.app.inject({ url: '/api/teams/alpha/submissions', headers: { authorization: 'Bearer token-b' } });
    expect(list.statusCode).toBe(401);
    // The unpacked upload is gone once graded: only the report stays.
    expect(await readdir(path.join(s.dir, 'uploads'))).toEqual([]);
  });

  test('a team that floods is held to its rate; others are not', async () => {
    await using s = await serve(async () => standInReport('echo-server', 10, 10, [5, 5]), 3);
    const codes = [];
    for (let i = 0; i < 5; i += 1) codes.push((await s.post('alpha', 'token-a')).statusCode);
    expect(codes).toEqual([202, 202, 202, 429, 429]);
    expect((await s.post('beta', 'token-b')).statusCode).toBe(202);
  });

  test('the gradebook keeps rounds apart and defuses spreadsheet formulas', async () => {
    await using s = await serve(async () => {
      throw new UploadError('=HYPERLINK("http://evil") printed by the program');
    });
    await s.post('alpha', 'token-a');
    await expect.poll(() => s.store.submissions()[0]?.status).toBe('error');
    s.store.startRound('lossy');
    const rows = gradebookRows(s.store, exercises);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ round: 1, profile: 'manifest', team: 'alpha', status: 'error', counts: true });
    expect(gradebookRows(s.store, exercises, 2)).toEqual([]);
    const csv = gradebookCsv(rows, exercises);
    expect(csv.split('\r\n')[0]).toBe(
      'round,profile,team,exercise,submission,status,points,max_points,stages_passed,stage_count,stage_1,stage_2,seed,backend,submitted_at,finished_at,counts,message',
    );
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"") printed by the program"`);
    const viaApi = await s.app.inject({ url: '/api/admin/gradebook?format=csv', headers: { authorization: 'Bearer admin-secret' } });
    expect(viaApi.statusCode).toBe(200);
    expect(viaApi.body).toBe(csv);
  });

  test('freeze hides later grades from the room, not from the facilitator, and reveal shows them', async () => {
    await using s = await serve(async () => standInReport('echo-server', 10, 10, [5, 5]));
    const admin = { authorization: 'Bearer admin-secret' };
    expect((await s.app.inject({ method: 'POST', url: '/api/admin/freeze', headers: { authorization: 'Bearer token-a' } })).statusCode).toBe(401);
    expect((await s.app.inject({ method: 'POST', url: '/api/admin/freeze', headers: admin })).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 5));
    await s.post('alpha', 'token-a');
    await expect.poll(() => s.store.submissions()[0]?.status).toBe('pass');
    type Board = { frozenAt: string | null; rows: Array<{ team: string; points: number }> };
    const alpha = (b: Board) => b.rows.find((r) => r.team === 'alpha')!.points;
    const room = (await s.app.inject('/api/board')).json<Board>();
    expect(room.frozenAt).not.toBeNull();
    expect(alpha(room)).toBe(0);
    expect((await s.app.inject('/api/board?live')).statusCode).toBe(401);
    expect(alpha((await s.app.inject({ url: '/api/board?live', headers: admin })).json<Board>())).toBe(10);
    await s.app.inject({ method: 'POST', url: '/api/admin/reveal', headers: admin });
    expect(alpha((await s.app.inject('/api/board')).json<Board>())).toBe(10);
  });

  test('event streams are bounded, and a closed one frees its place', async () => {
    await using s = await serve(async () => standInReport('echo-server', 10, 10, [5, 5]), 6, 1);
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(s.app.server.address() as { port: number }).port}/api/events`;
    const first = new AbortController();
    const open = await fetch(url, { signal: first.signal });
    expect(open.status).toBe(200);
    const refused = await fetch(url);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toMatch(/holds 1 open streams already/);
    first.abort();
    await expect.poll(async () => (await fetch(url, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined))?.status).toBe(200);
  });

  test('the board page carries no external asset and puts text in with textContent only', async () => {
    await using s = await serve(async () => standInReport('echo-server', 10, 10, [5, 5]));
    for (const url of ['/', '/team/alpha', '/admin']) {
      const page = await s.app.inject(url);
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
      expect(page.body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    }
  });
});

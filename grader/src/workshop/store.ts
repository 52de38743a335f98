import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../errors.ts';
import { tokenDigest } from './tokens.ts';

/**
 * Everything a workshop keeps, in one SQLite file in the workshop's folder (WAL journal, full
 * sync: a crash mid-write loses at most the write under way, never the file). A restarted
 * server reads it back and carries on: same teams and tokens, same board, the same round, and
 * the submissions that were waiting or being graded are queued again.
 */
type SubmissionStatus = 'queued' | 'grading' | 'pass' | 'fail' | 'error' | 'replaced';

export interface Round {
  readonly id: number;
  /** The impairment profile every grade of the round runs under; null: each exercise's own (its manifest's). */
  readonly profile: string | null;
  readonly startedAt: string;
}

export interface Submission {
  readonly id: number;
  readonly team: string;
  readonly exercise: string;
  readonly round: number;
  readonly status: SubmissionStatus;
  readonly submittedAt: string;
  readonly finishedAt: string | null;
  readonly points: number | null;
  readonly maxPoints: number | null;
  readonly stagesPassed: number | null;
  readonly stageCount: number | null;
  /** One line for the board and the team: a grader error, or why an upload was replaced. */
  readonly message: string | null;
}

export interface Result {
  readonly status: 'pass' | 'fail' | 'error';
  readonly points: number;
  readonly maxPoints: number;
  readonly stagesPassed: number;
  readonly stageCount: number;
  readonly message?: string;
  /** The grade report's JSON, shown to its team only. */
  readonly report?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS teams (name TEXT PRIMARY KEY, token_digest TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rounds (id INTEGER PRIMARY KEY, profile TEXT, started_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
  id INTEGER PRIMARY KEY,
  team TEXT NOT NULL REFERENCES teams(name),
  exercise TEXT NOT NULL,
  round INTEGER NOT NULL REFERENCES rounds(id),
  status TEXT NOT NULL CHECK (status IN ('queued', 'grading', 'pass', 'fail', 'error', 'replaced')),
  submitted_at TEXT NOT NULL,
  finished_at TEXT,
  points INTEGER,
  max_points INTEGER,
  stages_passed INTEGER,
  stage_count INTEGER,
  message TEXT,
  report TEXT
);
CREATE INDEX IF NOT EXISTS submissions_by_team ON submissions (team, id);
`;

const SUBMISSION_COLUMNS = `id, team, exercise, round, status, submitted_at AS submittedAt, finished_at AS finishedAt, points,
  max_points AS maxPoints, stages_passed AS stagesPassed, stage_count AS stageCount, message`;

export class WorkshopStore {
  private constructor(
    private readonly db: Database.Database,
    readonly dir: string,
  ) {}

  static open(dir: string): WorkshopStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let db: Database.Database;
    try {
      db = new Database(path.join(dir, 'workshop.sqlite'));
    } catch (error) {
      throw new ConfigError(`cannot open the workshop in ${dir}: ${(error as Error).message}`);
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    const store = new WorkshopStore(db, dir);
    if (!store.currentRound()) store.startRound(null);
    return store;
  }

  close(): void {
    this.db.close();
  }

  /** Where an upload's unpacked folder waits until it is graded (then it is removed). */
  uploadPath(id: number): string {
    return path.join(this.dir, 'uploads', String(id));
  }

  getMeta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string | undefined): void {
    if (value === undefined) this.db.prepare('DELETE FROM meta WHERE key = ?').run(key);
    else this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Registers a team, or gives an existing one a new token (the old one stops working). */
  putTeam(name: string, token: string): 'added' | 'rotated' {
    const existed = this.teamDigest(name) !== undefined;
    this.db
      .prepare('INSERT INTO teams (name, token_digest, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET token_digest = excluded.token_digest')
      .run(name, tokenDigest(token), new Date().toISOString());
    return existed ? 'rotated' : 'added';
  }

  teamDigest(name: string): string | undefined {
    return (this.db.prepare('SELECT token_digest AS digest FROM teams WHERE name = ?').get(name) as { digest: string } | undefined)?.digest;
  }

  teams(): string[] {
    return (this.db.prepare('SELECT name FROM teams ORDER BY created_at, name').all() as Array<{ name: string }>).map((r) => r.name);
  }

  currentRound(): Round | undefined {
    return this.db.prepare('SELECT id, profile, started_at AS startedAt FROM rounds ORDER BY id DESC LIMIT 1').get() as Round | undefined;
  }

  rounds(): Round[] {
    return this.db.prepare('SELECT id, profile, started_at AS startedAt FROM rounds ORDER BY id').all() as Round[];
  }

  startRound(profile: string | null): Round {
    const startedAt = new Date().toISOString();
    const { lastInsertRowid } = this.db.prepare('INSERT INTO rounds (profile, started_at) VALUES (?, ?)').run(profile, startedAt);
    return { id: Number(lastInsertRowid), profile, startedAt };
  }

  /**
   * Queues a team's upload in the current round. A queued, not yet graded upload of the same
   * team and exercise is replaced: the newer one is what the team means.
   */
  addSubmission(team: string, exercise: string): { submission: Submission; replaced: number[] } {
    return this.db.transaction(() => {
      const round = this.currentRound()!;
      const replaced = (
        this.db.prepare("SELECT id FROM submissions WHERE team = ? AND exercise = ? AND status = 'queued'").all(team, exercise) as Array<{ id: number }>
      ).map((r) => r.id);
      const { lastInsertRowid } = this.db
        .prepare("INSERT INTO submissions (team, exercise, round, status, submitted_at) VALUES (?, ?, ?, 'queued', ?)")
        .run(team, exercise, round.id, new Date().toISOString());
      const id = Number(lastInsertRowid);
      for (const old of replaced)
        this.db
          .prepare("UPDATE submissions SET status = 'replaced', finished_at = ?, message = ? WHERE id = ?")
          .run(new Date().toISOString(), `replaced by #${id}`, old);
      return { submission: this.submission(id)!, replaced };
    })();
  }

  submission(id: number): Submission | undefined {
    return this.db.prepare(`SELECT ${SUBMISSION_COLUMNS} FROM submissions WHERE id = ?`).get(id) as Submission | undefined;
  }

  report(id: number): string | undefined {
    return (this.db.prepare('SELECT report FROM submissions WHERE id = ?').get(id) as { report: string | null } | undefined)?.report ?? undefined;
  }

  submissions(filter: { team?: string } = {}): Submission[] {
    return filter.team
      ? (this.db.prepare(`SELECT ${SUBMISSION_COLUMNS} FROM submissions WHERE team = ? ORDER BY id`).all(filter.team) as Submission[])
      : (this.db.prepare(`SELECT ${SUBMISSION_COLUMNS} FROM submissions ORDER BY id`).all() as Submission[]);
  }

  /** The waiting line, oldest first. */
  queued(): Submission[] {
    return this.db.prepare(`SELECT ${SUBMISSION_COLUMNS} FROM submissions WHERE status = 'queued' ORDER BY id`).all() as Submission[];
  }

  markGrading(id: number): void {
    this.db.prepare("UPDATE submissions SET status = 'grading' WHERE id = ? AND status = 'queued'").run(id);
  }

  finish(id: number, result: Result): void {
    this.db
      .prepare(
        'UPDATE submissions SET status = ?, finished_at = ?, points = ?, max_points = ?, stages_passed = ?, stage_count = ?, message = ?, report = ? WHERE id = ?',
      )
      .run(
        result.status,
        new Date().toISOString(),
        result.points,
        result.maxPoints,
        result.stagesPassed,
        result.stageCount,
        result.message ?? null,
        result.report ?? null,
        id,
      );
  }

  /** After a crash or restart: what was being graded goes back to the line, in its place. */
  requeueInterrupted(): number {
    return this.db.prepare("UPDATE submissions SET status = 'queued' WHERE status = 'grading'").run().changes;
  }
}

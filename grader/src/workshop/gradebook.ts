import type { GradeReport } from '../report/grade-report.ts';
import { csvDocument } from '../report/csv.ts';
import type { BoardExercise } from './board.ts';
import type { WorkshopStore } from './store.ts';

/**
 * One graded submission of the workshop: what the facilitator exports at the end (or per round).
 * `counts` marks the grade the board counts for its team, exercise and round (the best one,
 * the earliest among equals), so a spreadsheet can filter to the standings.
 */
export interface GradebookRow {
  readonly round: number;
  /** The round's profile; "manifest" when each exercise ran under its own. */
  readonly profile: string;
  readonly team: string;
  readonly exercise: string;
  readonly submission: number;
  readonly status: 'pass' | 'fail' | 'error';
  readonly points: number;
  readonly maxPoints: number;
  readonly stagesPassed: number;
  readonly stageCount: number;
  /** Points per stage, from the report ("stage 1" → 6). */
  readonly stagePoints: Readonly<Record<string, number>>;
  readonly seed: number | null;
  readonly backend: string | null;
  readonly submittedAt: string;
  readonly finishedAt: string;
  readonly counts: boolean;
  readonly message: string | null;
}

export function gradebookRows(store: WorkshopStore, exercises: readonly BoardExercise[], round?: number): GradebookRow[] {
  const profiles = new Map(store.rounds().map((r) => [r.id, r.profile ?? 'manifest']));
  const known = new Set(exercises.map((e) => e.id));
  const rows: GradebookRow[] = [];
  for (const s of store.submissions()) {
    if (s.status !== 'pass' && s.status !== 'fail' && s.status !== 'error') continue;
    if (round !== undefined && s.round !== round) continue;
    if (!known.has(s.exercise)) continue;
    const text = store.report(s.id);
    const report = text ? (JSON.parse(text) as GradeReport) : undefined;
    rows.push({
      round: s.round,
      profile: profiles.get(s.round) ?? 'manifest',
      team: s.team,
      exercise: s.exercise,
      submission: s.id,
      status: s.status,
      points: s.points ?? 0,
      maxPoints: s.maxPoints ?? 0,
      stagesPassed: s.stagesPassed ?? 0,
      stageCount: s.stageCount ?? 0,
      stagePoints: Object.fromEntries((report?.stages ?? []).map((stage) => [`stage ${stage.stage}`, stage.points])),
      seed: report?.impairment?.seed ?? null,
      backend: report?.impairment?.backend ?? null,
      submittedAt: s.submittedAt,
      finishedAt: s.finishedAt ?? '',
      counts: false,
      message: s.message,
    });
  }
  // The board's rule: per team, exercise and round, the most points, the earliest of equals.
  const best = new Map<string, GradebookRow>();
  for (const row of rows) {
    const key = `${row.round}/${row.team}/${row.exercise}`;
    const held = best.get(key);
    if (!held || row.points > held.points) best.set(key, row);
  }
  const counted = new Set(best.values());
  return rows.map((row) => (counted.has(row) ? { ...row, counts: true } : row));
}

export function gradebookCsv(rows: readonly GradebookRow[], exercises: readonly BoardExercise[]): string {
  const stageColumns = Math.max(0, ...exercises.map((e) => e.stageCount));
  const stages = Array.from({ length: stageColumns }, (_, i) => `stage ${i + 1}`);
  const header = [
    'round',
    'profile',
    'team',
    'exercise',
    'submission',
    'status',
    'points',
    'max_points',
    'stages_passed',
    'stage_count',
    ...stages.map((s) => s.replace(' ', '_')),
    'seed',
    'backend',
    'submitted_at',
    'finished_at',
    'counts',
    'message',
  ];
  const lines = rows.map((r) => [
    r.round,
    r.profile,
    r.team,
    r.exercise,
    r.submission,
    r.status,
    r.points,
    r.maxPoints,
    r.stagesPassed,
    r.stageCount,
    ...stages.map((s) => r.stagePoints[s] ?? null),
    r.seed,
    r.backend,
    r.submittedAt,
    r.finishedAt,
    r.counts,
    r.message,
  ]);
  return csvDocument(header, lines);
}

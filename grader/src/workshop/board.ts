import type { Round, Submission } from './store.ts';

/** An exercise as the board shows it. */
export interface BoardExercise {
  readonly id: string;
  readonly title: string;
  readonly maxPoints: number;
  readonly stageCount: number;
}

interface BoardCell {
  /** The team's best grade of the exercise in the round. */
  readonly points: number;
  readonly maxPoints: number;
  readonly stagesPassed: number;
  /** The latest grade's verdict: does the team's code pass now? */
  readonly latest: 'pass' | 'fail' | 'error' | 'queued' | 'grading';
  /** The first team of the round to pass the exercise. */
  readonly first: boolean;
}

interface BoardRow {
  readonly team: string;
  readonly points: number;
  readonly cells: Readonly<Record<string, BoardCell>>;
  /** When the team last submitted (ISO). */
  readonly lastSubmittedAt: string | null;
  /** Every graded submission of the round, oldest first: cyber-dojo's red and green strip. */
  readonly history: ReadonlyArray<{ readonly id: number; readonly exercise: string; readonly status: 'pass' | 'fail' | 'error' }>;
}

export interface BoardState {
  readonly title: string;
  readonly round: Round;
  readonly rounds: readonly Round[];
  readonly current: number;
  readonly exercises: readonly BoardExercise[];
  readonly rows: readonly BoardRow[];
  /** Standings as of this moment (ISO), while the facilitator has the board frozen. */
  readonly frozenAt: string | null;
  readonly queue: { readonly waiting: number; readonly grading: number };
}

function isGraded(s: Submission): s is Submission & { status: 'pass' | 'fail' | 'error'; finishedAt: string } {
  return (s.status === 'pass' || s.status === 'fail' || s.status === 'error') && s.finishedAt !== null;
}

/**
 * The board of one round, from the store's rows. While frozen, grades finished after the
 * freeze are left out (CTFd's freeze): the room sees the standings of that moment, each team
 * still sees its own results on its page. Rows are ordered by points, then by who got there
 * first, then by name.
 */
export function computeBoard(input: {
  readonly title: string;
  readonly teams: readonly string[];
  readonly exercises: readonly BoardExercise[];
  readonly rounds: readonly Round[];
  readonly round: number;
  readonly submissions: readonly Submission[];
  readonly frozenAt: string | null;
}): BoardState {
  const round = input.rounds.find((r) => r.id === input.round) ?? input.rounds[input.rounds.length - 1]!;
  const visible = input.submissions.filter((s) => s.round === round.id && (!input.frozenAt || !isGraded(s) || s.finishedAt <= input.frozenAt));
  const graded = visible.filter(isGraded).sort((a, b) => a.finishedAt.localeCompare(b.finishedAt) || a.id - b.id);
  const firstPass = new Map<string, number>();
  for (const s of graded) if (s.status === 'pass' && !firstPass.has(s.exercise)) firstPass.set(s.exercise, s.id);
  const rows = input.teams.map((team) => {
    const mine = visible.filter((s) => s.team === team);
    const mineGraded = graded.filter((s) => s.team === team);
    const cells: Record<string, BoardCell> = {};
    let reachedAt = '';
    for (const exercise of input.exercises) {
      const tries = mine.filter((s) => s.exercise === exercise.id && s.status !== 'replaced');
      if (tries.length === 0) continue;
      const done = mineGraded.filter((s) => s.exercise === exercise.id);
      const best = done.reduce<(typeof done)[number] | undefined>((b, s) => (!b || (s.points ?? 0) > (b.points ?? 0) ? s : b), undefined);
      const last = tries[tries.length - 1]!;
      if (best && best.finishedAt > reachedAt) reachedAt = best.finishedAt;
      cells[exercise.id] = {
        points: best?.points ?? 0,
        maxPoints: exercise.maxPoints,
        stagesPassed: best?.stagesPassed ?? 0,
        latest: last.status as BoardCell['latest'],
        first: done.some((s) => firstPass.get(exercise.id) === s.id),
      };
    }
    const points = Object.values(cells).reduce((sum, c) => sum + c.points, 0);
    return {
      row: {
        team,
        points,
        cells,
        lastSubmittedAt: mine.reduce<string | null>((at, s) => (at === null || s.submittedAt > at ? s.submittedAt : at), null),
        history: mineGraded.sort((a, b) => a.id - b.id).map((s) => ({ id: s.id, exercise: s.exercise, status: s.status })),
      },
      reachedAt,
    };
  });
  rows.sort((a, b) => b.row.points - a.row.points || a.reachedAt.localeCompare(b.reachedAt) || a.row.team.localeCompare(b.row.team));
  return {
    title: input.title,
    round,
    rounds: input.rounds,
    current: input.rounds[input.rounds.length - 1]!.id,
    exercises: input.exercises,
    rows: rows.map((r) => r.row),
    frozenAt: input.frozenAt,
    queue: { waiting: input.submissions.filter((s) => s.status === 'queued').length, grading: input.submissions.filter((s) => s.status === 'grading').length },
  };
}

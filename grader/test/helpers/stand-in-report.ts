import type { GradeReport } from '../../src/report/grade-report.ts';

/** A grade report as the sandboxed grade would return it, for tests of what comes after grading (the workshop). */
export function standInReport(exercise: string, points: number, maxPoints: number, stages: number[]): GradeReport {
  return {
    schemaVersion: 1,
    exercise: { id: exercise, title: exercise },
    submission: { path: '/upload', kind: 'typescript' },
    runtime: { kind: 'docker', version: 'test', isolated: true },
    status: points === maxPoints ? 'pass' : 'fail',
    points,
    maxPoints,
    stages: stages.map((p, i) => ({ stage: i + 1, title: `stage ${i + 1}`, status: p > 0 ? 'pass' : 'fail', points: p, maxPoints: p || 5 })),
    tests: [],
    graderErrors: [],
    notices: [],
    startedAt: new Date().toISOString(),
    durationMs: 1,
  } as unknown as GradeReport;
}

import path from 'node:path';
import { findExercise } from '../catalog/catalog.ts';
import { ConfigError, GraderError } from '../errors.ts';
import { notice } from '../log.ts';
import type { GradeReport } from '../report/grade-report.ts';
import { renderPretty } from '../report/pretty.ts';
import { visibleLine } from '../sanitize.ts';
import { packSubmission } from '../workshop/archive.ts';
import { serverEvents } from '../workshop/event-stream.ts';
import type { Submission } from '../workshop/store.ts';
import { checkTeamName } from '../workshop/tokens.ts';

export interface SubmitOptions {
  /** The workshop server: `http://10.0.0.5:7878`. */
  readonly to: string;
  readonly team: string;
  readonly token: string;
  readonly exercise: string;
  /** The folder to upload; default: the exercise's folder in this repository. */
  readonly submission?: string;
  readonly color: boolean;
}

/** The workshop server could not be reached or refused the upload: not the team's code, so exit 2. */
class WorkshopServerError extends GraderError {
  override readonly code = 'NETKATA_WORKSHOP_SERVER';
}

type SubmissionView = Submission & { readonly position: number };

function serverUrl(to: string): URL {
  let url: URL;
  try {
    url = new URL(to);
  } catch {
    throw new ConfigError(`--to ${JSON.stringify(visibleLine(to, 80))} is not a URL; use the one from your join command, e.g. http://10.0.0.5:7878`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`--to must be an http:// or https:// URL, not ${url.protocol}`);
  return url;
}

async function refusal(response: Response): Promise<string> {
  const text = await response.text();
  try {
    return visibleLine((JSON.parse(text) as { error?: string }).error ?? text, 500);
  } catch {
    return visibleLine(text || response.statusText, 300);
  }
}

function describe(s: SubmissionView): string {
  if (s.status === 'queued') return s.position <= 1 ? 'next in line' : `waiting, position ${s.position} in line`;
  if (s.status === 'grading') return 'being graded in the sandbox...';
  return s.status;
}

/**
 * `netkata submit`: packs the team's folder, uploads it to the workshop server, follows its
 * place in line, then prints the result as a local grade would. Exit code as `grade`'s:
 * 0 every test passed, 1 some failed, 2 the server or the grader could not grade it.
 */
export async function submit(options: SubmitOptions): Promise<number> {
  const base = serverUrl(options.to);
  checkTeamName(options.team);
  const dir = options.submission ? path.resolve(options.submission) : (await findExercise(options.exercise)).exerciseDir;
  const upload = await packSubmission(dir);
  const headers = { authorization: `Bearer ${options.token}`, 'x-netkata-team': options.team };
  const reach = (route: string, init: RequestInit = {}) =>
    fetch(new URL(route, base), { ...init, headers: { ...headers, ...init.headers } }).catch((error: Error & { cause?: Error }) => {
      throw new WorkshopServerError(
        `cannot reach the workshop server at ${base.origin}: ${error.cause?.message ?? error.message}; check the URL and that you are on the room's network`,
      );
    });
  const posted = await reach(`/api/submissions?exercise=${encodeURIComponent(options.exercise)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/gzip' },
    body: upload,
  });
  if (posted.status !== 202) throw new WorkshopServerError(`the workshop server refused the upload (${posted.status}): ${await refusal(posted)}`);
  const queued = (await posted.json()) as SubmissionView;
  notice(`uploaded ${path.relative(process.cwd(), dir) || '.'} (${(upload.length / 1024).toFixed(1)} KiB) as submission #${queued.id}: ${describe(queued)}`);

  // The stream ends with the result; a dropped connection (Wi-Fi) is picked up again, and a
  // result already there comes back at once.
  for (let attempt = 0; attempt < 30; attempt += 1) {
    const stream = await reach(`/api/submissions/${queued.id}/events`).catch((error: Error) => error);
    if (stream instanceof Response && !stream.ok)
      throw new WorkshopServerError(`the workshop server refused to show #${queued.id} (${stream.status}): ${await refusal(stream)}`);
    if (stream instanceof Response && stream.body) {
      let last = '';
      try {
        for await (const { event, data } of serverEvents(stream.body)) {
          if (event === 'update') {
            const line = describe(JSON.parse(data) as SubmissionView);
            if (line !== last) notice(`#${queued.id}: ${line}`);
            last = line;
          } else if (event === 'done') return finished(JSON.parse(data) as { submission: SubmissionView; report?: GradeReport }, options);
        }
      } catch (error) {
        if (error instanceof GraderError) throw error;
      }
    }
    notice(`#${queued.id}: lost the connection to the server; trying again (your upload is still in line)`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  throw new WorkshopServerError(`gave up following #${queued.id}; its result will be on your team page and the board`);
}

function finished(done: { submission: SubmissionView; report?: GradeReport }, options: SubmitOptions): number {
  const { submission, report } = done;
  if (submission.status === 'replaced') {
    notice(`#${submission.id} was replaced by a newer upload of your team before it was graded: ${visibleLine(submission.message ?? '', 200)}`);
    return 2;
  }
  if (report) {
    let text: string;
    try {
      text = renderPretty(report, { color: options.color, again: `npx netkata submit --to ${options.to} --team ${options.team} ${options.exercise}` });
    } catch {
      throw new WorkshopServerError(`the server's report of #${submission.id} could not be read; see your team page`);
    }
    process.stdout.write(text);
  } else if (submission.message) notice(`#${submission.id}: ${visibleLine(submission.message, 500)}`);
  return submission.status === 'pass' ? 0 : submission.status === 'fail' ? 1 : 2;
}

import { findExercise } from '../catalog/catalog.ts';
import { ConfigError } from '../errors.ts';
import { loadProgress, saveProgress } from '../learner/progress-state.ts';
import { visibleLine, visibleText } from '../sanitize.ts';

/**
 * `netkata hint <exercise> [stage]`: the stage's hint ladder one rung per call (the nudge under
 * a failing stage first, then the manifest's further rungs: a concrete pointer, the man page or
 * RFC section), or every rung with `--all`. Without a stage: the first one the learner's last
 * grade did not pass. What was shown is kept in the progress file.
 */
export async function hint(name: string, stageArg: string | undefined, all: boolean): Promise<string> {
  const exercise = await findExercise(name);
  const { id, stages } = exercise.manifest;
  const progress = await loadProgress();
  const entry = progress.exercises[id] ?? { completed: false, hintsShown: {} };
  let stageNumber: number;
  let why: string;
  if (stageArg !== undefined) {
    // Digits only: Number() would take ' 2', '2.0' or '0x2' for stage 2.
    stageNumber = /^\d{1,3}$/.test(stageArg) ? Number(stageArg) : Number.NaN;
    if (!stages.some((s) => s.stage === stageNumber))
      throw new ConfigError(`${id} has no stage "${visibleLine(stageArg, 40)}" (it has stages 1 to ${stages.length})`);
    why = '';
  } else {
    const passed = entry.grade?.last.stagesPassed ?? [];
    const open = stages.find((s) => !passed.includes(s.stage));
    stageNumber = open?.stage ?? stages.length;
    why = !entry.grade
      ? ' (no grade yet: the first stage)'
      : open
        ? ' (the first stage your last grade did not pass)'
        : ' (your last grade passed every stage: the last one)';
  }
  const stage = stages.find((s) => s.stage === stageNumber)!;
  const ladder = [stage.hint, ...(stage.hints ?? [])].filter((h): h is string => h !== undefined);
  if (ladder.length === 0) return `stage ${stageNumber} of ${id} has no hints; its README section says exactly what it tests\n`;
  const shownBefore = entry.hintsShown[String(stageNumber)] ?? 0;
  const upTo = all ? ladder.length : Math.min(ladder.length, shownBefore + 1);
  entry.hintsShown[String(stageNumber)] = Math.max(shownBefore, upTo);
  progress.exercises[id] = entry;
  await saveProgress(progress);
  const lines = [`${id}, stage ${stageNumber}: ${visibleText(stage.title)}${why}`];
  ladder.slice(0, upTo).forEach((rung, i) => {
    const label = `  ${i + 1}/${ladder.length}  `;
    lines.push(label + wrap(visibleText(rung), WIDTH - label.length).join(`\n${' '.repeat(label.length)}`));
  });
  const left = ladder.length - upTo;
  lines.push(
    left > 0
      ? `${left} more: run  npx netkata hint ${id} ${stageNumber}  again (or --all)`
      : 'that is every hint for this stage; the README section of the stage has the exact protocol',
  );
  return `${lines.join('\n')}\n`;
}

/** Output width: rungs run to a few hundred characters, one terminal line each would be hard to read. */
const WIDTH = 100;

/** Breaks text into lines of at most `width` characters at spaces (a longer word, a URL, stays whole). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line !== '' && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    out.push(line);
  }
  return out;
}

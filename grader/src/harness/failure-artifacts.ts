import path from 'node:path';
import { artifactFolderName, writeArtifactFiles, type TestArtifacts } from '../artifacts.ts';
import { visibleText } from '../sanitize.ts';
import type { StartedSubmission } from '../runtime/runtime.ts';
import { renderTimelineHtml } from './timeline-html.ts';
import type { Transcript } from './transcript.ts';

/** Of the submission's output, the artifact keeps at most the last this many bytes. */
const MAX_LOG_BYTES = 1024 * 1024;

export interface FailedTest {
  readonly file: string;
  readonly name: string;
  readonly stage?: number;
  readonly profile: string;
  /** When the test began (epoch ms): its packets are those from then to now. */
  readonly startedAtMs: number;
}

/**
 * Writes a failed test's artifacts into its folder under `root`: the transcript (as text and as
 * an HTML timeline), everything the submission printed (made visible: it is the learner's text,
 * and someone will `cat` it) and the test's packets where the runtime captures them. What could not be had is said, not skipped.
 */
export async function saveFailureArtifacts(
  root: string,
  test: FailedTest,
  transcript: Transcript,
  started: StartedSubmission | undefined,
): Promise<TestArtifacts> {
  const folder = artifactFolderName(test);
  const missing: string[] = [];
  const rendered = transcript.render();
  const files: Record<string, string | Uint8Array> = {
    'transcript.txt': `${rendered || '(nothing was sent or received)'}\n`,
    'timeline.html': renderTimelineHtml({
      title: test.name,
      subtitle: `${test.file}, stage ${test.stage ?? '?'}, ${test.profile} link: failed`,
      ...transcript.shownEvents(),
      durationMs: Date.now() - test.startedAtMs,
    }),
  };
  if (started) {
    try {
      const output = await started.output(MAX_LOG_BYTES);
      files['submission.log'] = `${visibleText(output.toString('utf8'), { maxLines: Number.MAX_SAFE_INTEGER })}\n`;
    } catch (error) {
      missing.push(`submission.log: ${(error as Error).message}`);
    }
    if (started.capture) {
      try {
        const { pcap, droppedPackets } = await started.capture.cut(test.startedAtMs, Date.now());
        files['capture.pcap'] = pcap;
        if (droppedPackets > 0)
          missing.push(
            `capture.pcap may have holes: the capture lost ${droppedPackets} packets since the submission started (the kernel dropped them before tcpdump read them)`,
          );
      } catch (error) {
        missing.push(`capture.pcap: ${(error as Error).message}`);
      }
    } else missing.push('capture.pcap: this runtime captures no packets (the docker runtime does)');
  } else missing.push('submission.log, capture.pcap: the submission was not running');
  const written = await writeArtifactFiles(root, folder, files);
  return {
    dir: path.join(root, folder),
    transcript: written['transcript.txt']!,
    timeline: written['timeline.html']!,
    ...(written['submission.log'] && { log: written['submission.log'] }),
    ...(written['capture.pcap'] && { pcap: written['capture.pcap'] }),
    ...(missing.length > 0 && { missing }),
  };
}

// curl, a real client, run in a grader-owned peer (the http-peer image) on the run network.
import { expect } from 'vitest';
import type { PeerHandle } from 'netkata/harness';

/** curl's view of each transfer, one line each: status, bytes of body, new connections, type. */
export const WRITE_OUT = '%{http_code} %{size_download} %{num_connects} %{content_type}\\n';

/** Runs curl in `peer` with these arguments; fails the test unless curl exits 0. Its output, by line. */
export function curlOf(peer: PeerHandle): (args: readonly string[]) => Promise<string[]> {
  return async (args) => {
    const { exitCode, output } = await peer.exec(['curl', '--http1.1', '--silent', '--show-error', '--max-time', '10', ...args], { timeoutMs: 30_000 });
    // curl's own exit codes: 18 a body shorter than its Content-Length, 28 a timeout, 52 no answer, 56 a broken connection.
    expect(exitCode, `curl ${args.join(' ')} exited ${exitCode}: ${output.slice(-400)}`).toBe(0);
    return output.trim().split('\n');
  };
}

/**
 * Was the link the profile for the whole of a test? The userspace engine's counters (and the
 * kernel's, for its queue) read before and after a test say. Kernel netem has no such failure
 * mode here (its qdisc never passes packets unimpaired; see the README), so this is about the
 * userspace backend only.
 */

/** Unrequested drops allowed per packet the link carried: far below any profile's loss, and below what a test can tell apart. */
const UNREQUESTED_DROP_TOLERANCE = 0.001;

/**
 * Packets the engine released over 10 ms after their time (it was starved of CPU: a flood, or a
 * busy machine) make the link slower than the profile. A few are the noise of a shared machine
 * (up to 3 % of a test's packets here, under other grades' load); past both bounds the engine
 * was overloaded.
 */
const LATE_TOLERANCE = 0.05;
export const LATE_MIN_PACKETS = 100;

/**
 * A flood is the submission's doing when it sent at least this many packets in the test and at
 * least FLOOD_RATIO times what it received: request/response protocols, TCP (an ACK every other
 * segment) and every test of this repository stay far below.
 */
export const FLOOD_MIN_PACKETS = 10_000;
const FLOOD_RATIO = 8;

export interface IntegrityFault {
  /** `submission`: its own flood overloaded the link (the learner's failure); `grader`: anything else. */
  readonly cause: 'submission' | 'grader';
  /**
   * `weaker`: some packets were spared what the profile does to them (passed unimpaired, not
   * duplicated or corrupted), so neither a pass nor a failure says anything. `harsher`: the link
   * only dropped or delayed more than the profile, so a pass still counts (the submission coped
   * with worse) and only a failure does not.
   */
  readonly direction: 'weaker' | 'harsher';
  readonly message: string;
}

const count = (stats: Readonly<Record<string, number>>, key: string) => stats[key] ?? 0;
const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * Compares two snapshots of `netkata-link stats` taken around a test; undefined when the link
 * was the profile throughout (within UNREQUESTED_DROP_TOLERANCE).
 */
export function integrityFault(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): IntegrityFault | undefined {
  if (count(after, 'bound') !== 1) {
    return {
      cause: 'grader',
      direction: 'weaker',
      message: `the userspace impairment engine was no longer bound to its queue at the end of this test, so packets passed unimpaired: the link was not the profile, so this result does not count`,
    };
  }
  // The same engine bound to the same queue before and after: nothing was bypassed between.
  if (count(before, 'portid') !== count(after, 'portid') || count(after, 'kernel.id_sequence') < count(before, 'kernel.id_sequence')) {
    return {
      cause: 'grader',
      direction: 'weaker',
      message: `the userspace impairment engine was restarted during this test, so some packets passed unimpaired: the link was not the profile, so this result does not count`,
    };
  }
  const delta = (key: string) => Math.max(0, count(after, key) - count(before, key));
  const queueFull = delta('kernel.queue_dropped');
  const socketFull = delta('kernel.user_dropped');
  const degraded = delta('degraded');
  const late = delta('late');
  const sent = delta('egress.seen');
  const received = delta('ingress.seen');
  const carried = sent + received + queueFull + socketFull;
  const unfaithful = queueFull + socketFull + degraded;
  const dropsOver = unfaithful > 0 && unfaithful > carried * UNREQUESTED_DROP_TOLERANCE;
  const lateOver = late >= LATE_MIN_PACKETS && late > carried * LATE_TOLERANCE;
  if (!dropsOver && !lateOver) return undefined;

  const what = [
    queueFull > 0 ? `dropped ${fmt(queueFull)} packets because its queue was full` : '',
    socketFull > 0 ? `dropped ${fmt(socketFull)} packets it could not read in time` : '',
    degraded > 0 ? `skipped the duplication or corruption of ${fmt(degraded)} packets for lack of memory` : '',
    lateOver ? `delivered ${fmt(late)} packets more than 10 ms later than the profile says` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const traffic = `${fmt(sent)} packets from the submission, ${fmt(received)} to it`;
  // Skipped duplicates and corruptions spared packets what the profile does; drops and lateness did not.
  const direction = degraded > carried * UNREQUESTED_DROP_TOLERANCE ? 'weaker' : 'harsher';
  if (sent >= FLOOD_MIN_PACKETS && sent >= FLOOD_RATIO * received) {
    return {
      cause: 'submission',
      direction,
      message: `your program flooded the link: it sent ${fmt(sent)} packets during this test while receiving ${fmt(received)}, more than the impaired link can carry (the link ${what}). A test cannot pass on a link that was not the profile: send only what the protocol asks for (answer each request, respect the peer's pace)`,
    };
  }
  return {
    cause: 'grader',
    direction,
    message: `the userspace impairment engine ${what} during this test (${traffic}): the link was not the profile, so this result does not count`,
  };
}

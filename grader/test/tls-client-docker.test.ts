// The tls-client exercise graded for real on the docker runtime: the zoo as one peer container,
// the client run once per case in its own sandbox. The solution passes every stage, the
// starter fails every stage, and each faulty variant (grader/test/fixtures/tls-client, the
// reference with one check broken) fails the stage its bug belongs to and passes the ones before.
import { describe, expect, test } from 'vitest';
import { expectBreaksStage, fixture, gradeJson, expectStarterStopsAtStage1, failedTests } from './helpers/cli.ts';

describe('tls-client on the docker runtime', () => {
  test('the reference solution passes every stage; resuming TLS 1.2 under wan saves a round trip', async () => {
    const { code, report, stderr } = await gradeJson(['tls-client', '--solution', '--runtime', 'docker']);
    expect(code, `${stderr}${failedTests(report)}`).toBe(0);
    expect(report.points).toBe(100);
    const wan = report.tests.find((t) => t.name.startsWith('under wan, resuming at tls12-tickets'));
    const { fullMs, resumedMs, savedRoundTrips, roundTripMs } = wan?.measurements as Record<string, number>;
    console.log(
      `tls12-tickets under wan: ${savedRoundTrips} round trips (${roundTripMs} ms) saved between handshake and request; accept to request ${fullMs} ms full, ${resumedMs} ms resumed (medians)`,
    );
    // The suite's own threshold (see 06-resumption-wan.test.ts): measured on 62 grades, 0.88 at least.
    expect(savedRoundTrips).toBeGreaterThan(0.5);
  });

  test('the starter fails stage 1 (exit 1), scores 0 and runs nothing after it, each test within seconds', async () => {
    const report = await expectStarterStopsAtStage1('tls-client', 6);
    expect(Math.max(...report.tests.map((t) => t.durationMs))).toBeLessThan(5_000);
  });

  // resumes-any-host is not here: the grader's image (Node 22, OpenSSL 3.5) never offers a
  // session at another name, so its bug cannot show there; the zoo does resume across names, and
  // tls-zoo.test.ts catches the variant on the host's Node 20 (OpenSSL 3.0).
  test.each([
    { name: 'no-verification', breaks: 2 },
    { name: 'no-hostname-check', breaks: 2 },
    { name: 'accepts-tls10', breaks: 3 },
    { name: 'ignores-ocsp', breaks: 4 },
    { name: 'pin-in-identity-check', breaks: 6 },
  ])('$name fails stage $breaks and passes the stages before it', async ({ name, breaks }) => {
    await expectBreaksStage('tls-client', fixture('tls-client', name), breaks);
  });

  // A cheat, not a bug: it sends its request to servers it refuses, then resets the zoo's
  // counters. With a zoo that reset for anyone it passed stages 1-2 (45 of 45); the zoo's
  // control port now needs the tests' secret, so the request shows.
  test("cheat-reset-zoo (requests, then resets the zoo's counters) fails stage 2", async () => {
    await expectBreaksStage('tls-client', fixture('tls-client', 'cheat-reset-zoo'), 2);
  });
});

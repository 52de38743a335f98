// The TLS zoo as one peer container for a test file: a fresh PKI (made on the host with the
// openssl CLI, about a second), the zoo's config and script as the peer's files, every member's
// host name an alias of that one container, and the submission run once per case with the
// test CA as a file in its FILES_DIR. The zoo's control port (stats, reset) is on the run
// network where the client can reach it, so it answers only with a secret made here and given
// to the zoo in its environment.
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import {
  CONTROL_SECRET_ENV,
  controlHeaders,
  makePki,
  newControlSecret,
  tlsClientExit,
  useClient,
  usePeer,
  zooCatalogue,
  zooServerConfig,
  zooServerScript,
  type ClientRun,
  type ClientRunOptions,
  type ZooConnectionRecord,
  type ZooMember,
  type ZooMemberKind,
  type ZooMemberStats,
  type ZooPki,
  type ZooStats,
} from 'netkata/harness';

export const Exit = tlsClientExit;
export const DOMAIN = 'zoo.test';
export const catalogue = zooCatalogue(DOMAIN);
export const member = (kind: ZooMemberKind): ZooMember => catalogue.members.find((m) => m.kind === kind)!;
export const hostOf = (kind: ZooMemberKind): string => member(kind).hosts[0]!;
/** Names the zoo answers that no certificate covers as such: another name of one server, two labels under a wildcard. */
export const ALIAS_HOST = `alias.${DOMAIN}`;
export const DEEP_WILDCARD_HOST = `deep.wildcard.${DOMAIN}`;

const FIRST_MEMBER_PORT = 8440;
const CONTROL_PORT = 8000;
/** Where the submission finds the files a run gets (CONTAINER_FILES_DIR). */
const FILES_DIR = '/srv/files';
const SUMMARY = /^tls=(TLSv1\.[23]) alpn=(\S+) resumed=(yes|no) cipher=(\S+)$/m;

export const portOf = (kind: ZooMemberKind): number => FIRST_MEMBER_PORT + catalogue.members.indexOf(member(kind));
export const WRONG_PIN = `sha256/${Buffer.alloc(32, 7).toString('base64')}`;

export interface Summary {
  tls: string;
  alpn: string;
  resumed: boolean;
  cipher: string;
}

export interface FetchRun extends ClientRun {
  summary?: Summary;
}

export interface FetchOptions extends ClientRunOptions {
  /** Another name for the member's server (default: its first host). */
  host?: string;
  args?: readonly string[];
}

export interface Zoo {
  readonly pki: ZooPki;
  /** `main https://<host>:<port>/ --ca $FILES_DIR/ca.pem ...args` against member `kind`. */
  fetch(kind: ZooMemberKind, options?: FetchOptions): Promise<FetchRun>;
  /** The submission with exactly these arguments (and the CA file in FILES_DIR). */
  run(args: readonly string[], options?: ClientRunOptions): Promise<FetchRun>;
  url(kind: ZooMemberKind, host?: string): string;
  readonly caPath: string;
  pinOf(kind: ZooMemberKind): string;
  stats(): Promise<ZooStats>;
  memberStats(kind: ZooMemberKind): Promise<ZooMemberStats>;
  lastConnection(kind: ZooMemberKind): Promise<ZooConnectionRecord>;
  reset(): Promise<void>;
  /**
   * The round trip of the zoo's link as it is now, measured from here: the median of `samples`
   * GET /ping exchanges on one kept-alive connection (after one that may open it). The control
   * port is behind the same link as every member, so this is the client's round trip too.
   */
  roundTripMs(samples?: number): Promise<number>;
  /** The run's STATE_DIR as the submission sees it: shared by the runs of one test, empty at its start. */
  readonly stateDir: string;
  /** The zoo's own link (all members), e.g. `wan`. */
  readonly link: ReturnType<typeof usePeer>['link'];
}

/** Call at the top of a test file (top-level await): the zoo peer and the client for that file. */
export async function useZoo(): Promise<Zoo> {
  const pki = await makePki(catalogue.leaves);
  const config = zooServerConfig(catalogue, pki, { portOf: (_, index) => FIRST_MEMBER_PORT + index, controlPort: CONTROL_PORT });
  const [name, ...aliases] = [...catalogue.members.flatMap((m) => m.hosts), ALIAS_HOST, DEEP_WILDCARD_HOST];
  const secret = newControlSecret();
  const peer = usePeer({
    name: name,
    aliases,
    command: ['node', '/srv/peer/zoo-server.cjs', '/srv/peer/config.json'],
    files: { 'zoo-server.cjs': await readFile(zooServerScript), 'config.json': Buffer.from(JSON.stringify(config)) },
    env: { [CONTROL_SECRET_ENV]: secret },
    readyPort: CONTROL_PORT,
    memoryMb: 192,
  });
  const client = useClient();
  const files = { 'ca.pem': pki.root.cert };
  const caPath = `${FILES_DIR}/ca.pem`;

  const control = async (method: 'GET' | 'POST', route: string): Promise<unknown> => {
    const { host, port } = peer.endpoint(CONTROL_PORT);
    // From here to the zoo (or its edge slot), never through the client: the secret stays with the tests.
    const response = await fetch(`http://${host}:${port}${route}`, { method, headers: controlHeaders(secret) });
    if (!response.ok) throw new Error(`zoo control ${method} ${route}: HTTP ${response.status}`);
    return response.json();
  };
  const url = (kind: ZooMemberKind, host = hostOf(kind)) => `https://${host}:${portOf(kind)}/`;
  const run = async (args: readonly string[], options: ClientRunOptions = {}): Promise<FetchRun> => {
    const result = await client.run(args, { ...options, files: { ...files, ...options.files } });
    const match = SUMMARY.exec(result.stderrText);
    return match ? { ...result, summary: { tls: match[1]!, alpn: match[2]!, resumed: match[3] === 'yes', cipher: match[4]! } } : result;
  };
  const stats = () => control('GET', '/stats') as Promise<ZooStats>;
  const memberStats = async (kind: ZooMemberKind) => (await stats()).members[kind];
  return {
    pki,
    caPath,
    url,
    run,
    fetch: (kind, options = {}) => run([url(kind, options.host), '--ca', caPath, ...(options.args ?? [])], options),
    pinOf: (kind) => `sha256/${pki.leaves[member(kind).leafIds[0]!]!.spkiSha256}`,
    stats,
    memberStats,
    async lastConnection(kind) {
      const connections = (await memberStats(kind)).connections;
      expect(connections.length, `the ${kind} server saw no TLS connection`).toBeGreaterThan(0);
      return connections.at(-1)!;
    },
    reset: async () => {
      await control('POST', '/reset');
    },
    async roundTripMs(samples = 15) {
      await control('GET', '/ping');
      const times: number[] = [];
      for (let i = 0; i < samples; i++) {
        const started = performance.now();
        await control('GET', '/ping');
        times.push(performance.now() - started);
      }
      return Math.round(median(times) * 10) / 10;
    },
    get stateDir() {
      return client.stateDir;
    },
    link: peer.link,
  };
}

/** The middle value (the upper one of an even count). */
export const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The body every good member answers with. */
export const bodyOf = (kind: ZooMemberKind) => `netkata tls zoo: ${kind}\n`;

/** One line for an assertion message: what the run exited with and said. */
export const said = (run: ClientRun) =>
  `exit ${run.exitCode}${run.timedOut ? ' (timed out)' : ''}; stderr: ${run.stderrText.trim().slice(0, 300) || '(empty)'}`;

/**
 * What hidden and visible test suites import (`netkata/harness`). Runs inside vitest
 * workers; the CLI, runner and reporters live on the other side.
 */
export { useSubmission, runContext, type SubmissionHandle, type LinkHandle } from './submission.ts';
export type { ExitStatus, ProcessStats } from '../runtime/runtime.ts';
export { FILES_MTIME_MS, type FileEntry, type FileTree, type RepeatedFile, type SymbolicLink } from '../runtime/files.ts';
export { usePeer, type PeerHandle, type PeerSpec } from './peers.ts';
export { useClient, type ClientHandle, type ClientRun, type ClientRunOptions } from './client.ts';
export type { LinkSpec, Profile } from '../impairment/profile.ts';
export { TcpConnection, ExpectationError, DEFAULT_IO_TIMEOUT_MS, type ConnectOptions } from './tcp.ts';
export { UdpSocket, type UdpOptions } from './udp.ts';
export { Transcript, previewBytes } from './transcript.ts';
export { stage } from './stage.ts';
// A suite's own set-up that cannot bring the grader's side into a known state is the grader's fault.
export { InfrastructureError } from '../errors.ts';
export { figure } from './figures.ts';
export type { FigureLimit } from '../runtime/context.ts';
export { randomBytes, pieceSizes } from './data.ts';
export { seededRandom } from '../impairment/sampling.ts';
export { expectBytes, describeDifference, firstDifference } from './bytes.ts';
// Grader-owned peers' control channels answer only with the secret the test worker gave them.
export { CONTROL_HEADER, CONTROL_SECRET_ENV, controlHeaders, newControlSecret } from '../peers/control-secret.ts';
// The TLS zoo, for tls-client's suites: a fresh PKI, the members' catalogue and exit codes, and
// the zoo's server run on this machine (the visible tests) or as a peer (the hidden suite).
export { makePki, type ZooPki } from '../peers/tls/pki.ts';
export { startLocalZoo, zooServerScript, type StartedLocalZoo } from '../peers/tls/local-zoo.ts';
export { zooServerConfig } from '../peers/tls/zoo-config.ts';
export { tlsClientExit, zooCatalogue, type ZooMember, type ZooMemberKind } from '../peers/tls/zoo-members.ts';
export type { ZooConnectionRecord, ZooMemberStats, ZooStats } from '../peers/tls/zoo-stats.ts';

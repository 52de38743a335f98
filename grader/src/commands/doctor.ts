import { IMAGE_NAMES, loadImage } from '../images/image-spec.ts';
import { chooseBackend, detectBackends, type BackendSupport } from '../runtime/docker/detect-backend.ts';
import { chooseEndpointMode } from '../runtime/docker/edge.ts';
import { DockerEngine } from '../runtime/docker/engine.ts';

export interface DoctorReport {
  readonly ok: boolean;
  readonly node: string;
  readonly docker: { readonly reachable: boolean; readonly version?: string; readonly apiVersion?: string; readonly error?: string };
  readonly images: ReadonlyArray<{ readonly name: string; readonly tag: string; readonly present: boolean }>;
  readonly kernel?: string;
  readonly backends: {
    readonly netem: { readonly available: boolean | 'unknown'; readonly detail: string };
    readonly userspace: { readonly available: boolean | 'unknown'; readonly detail: string };
    readonly relay: { readonly available: true; readonly detail: string };
  };
  /** How tests will reach containers: by address, or through the edge's published ports. */
  readonly endpoints?: 'direct' | 'published';
  /** What `--impairment auto` picks on this machine. */
  readonly auto: 'netem' | 'userspace' | 'relay' | 'none';
  readonly advice: readonly string[];
}

/** `netkata doctor`: what this machine can grade with, checked rather than assumed. */
export async function doctor(): Promise<DoctorReport> {
  const advice: string[] = [];
  const relay = {
    available: true as const,
    detail: 'the local runtime relays TCP in-process (reduced fidelity: no packet loss or reordering) and UDP per datagram',
  };
  let engine: DockerEngine;
  try {
    engine = await DockerEngine.connect(5_000);
  } catch (error) {
    advice.push('start a Docker engine (or set DOCKER_HOST) for sandboxed, packet-level grading');
    const unknown = { available: 'unknown' as const, detail: 'no Docker engine' };
    return {
      ok: false,
      node: process.version,
      docker: { reachable: false, error: (error as Error).message },
      images: [],
      backends: { netem: unknown, userspace: unknown, relay },
      auto: 'relay',
      advice,
    };
  }
  const images = await Promise.all(
    IMAGE_NAMES.map(async (name) => {
      const image = await loadImage(name);
      return { name, tag: image.tag, present: await engine.imageExists(image.tag) };
    }),
  );
  const missing = images.filter((i) => !i.present);
  if (missing.length > 0) advice.push(`build the missing images: npx netkata images build ${missing.map((i) => i.name).join(' ')}`);
  const impair = images.find((i) => i.name === 'impair')!;
  let support: BackendSupport | undefined;
  if (impair.present) support = await detectBackends(engine, impair.tag);
  const describe = (available: boolean | undefined, detail: string | undefined) =>
    available === undefined
      ? { available: 'unknown' as const, detail: 'needs the impair image' }
      : { available, detail: available ? 'works in a throwaway NET_ADMIN container' : (detail ?? '') };
  let auto: DoctorReport['auto'] = 'none';
  if (support) {
    try {
      auto = chooseBackend('auto', support);
    } catch (error) {
      advice.push((error as Error).message);
    }
  }
  return {
    ok: missing.length === 0 && auto !== 'none',
    node: process.version,
    docker: { reachable: true, version: engine.serverVersion, apiVersion: engine.apiVersion },
    images,
    ...(support ? { kernel: support.kernel } : {}),
    endpoints: await chooseEndpointMode(engine),
    backends: {
      netem: describe(support?.netem, support?.details.netem),
      userspace: describe(support?.nfqueue, support?.details.nfqueue),
      relay,
    },
    auto,
    advice,
  };
}

export function renderDoctor(report: DoctorReport): string {
  const yes = (v: boolean | 'unknown') => (v === 'unknown' ? '?' : v ? 'yes' : 'no');
  const lines = [
    `node        ${report.node}`,
    `docker      ${report.docker.reachable ? `${report.docker.version} (API ${report.docker.apiVersion})` : `unreachable: ${report.docker.error}`}`,
    ...report.images.map((i) => `image       ${i.tag} ${i.present ? 'present' : 'MISSING'}`),
    ...(report.kernel ? [`kernel      ${report.kernel}`] : []),
    `netem       ${yes(report.backends.netem.available)}  ${report.backends.netem.available === true ? '' : report.backends.netem.detail}`,
    `userspace   ${yes(report.backends.userspace.available)}  ${report.backends.userspace.available === true ? '' : report.backends.userspace.detail}`,
    `relay       yes  (local runtime)`,
    ...(report.endpoints ? [`endpoints   ${report.endpoints}`] : []),
    `auto uses   ${report.auto}`,
    ...report.advice.map((a) => `advice      ${a}`),
  ];
  return `${lines.join('\n')}\n`;
}

import { open, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, type Loader, type Message, type Plugin } from 'esbuild';
import { SubmissionBuildError } from '../errors.ts';
import { logger } from '../log.ts';
import { repoRoot } from '../paths.ts';
import { confinedPath, isInside, realRoot } from './confined-path.ts';

const log = logger('build');

const builtins = new Set(builtinModules);

/**
 * The loaders a submission's files may use: code only. A .json or .txt file would be inlined
 * into the bundle, which is how a host file's content once reached a report; JSX has no use in
 * a program that may import Node's built-ins only.
 */
const CODE_LOADERS: Readonly<Record<string, Loader>> = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.js': 'js', '.mjs': 'js', '.cjs': 'js' };
/** What an extensionless import may name, in TypeScript's order. */
const PROBE = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];
/** TypeScript's convention: `./x.js` in a source names `./x.ts`. */
const TS_FOR_JS: Readonly<Record<string, string>> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

/** One source file of a submission; a bigger one is not a hand-written program. */
const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

const NAMESPACE = 'netkata-submission';
const ONLY = "a submission may import only its own .ts/.js files and Node's built-in modules";

export interface BundleOptions {
  /** The submission folder; by default the folder above src/main.ts. Imports must stay inside it. */
  readonly rootDir?: string;
  /**
   * Folders whose code may be imported too (real paths are compared). By default none, except
   * for the grader's own test fixtures, which are faulty variants of the reference solutions
   * and import them: see fixtureImportRoots.
   */
  readonly importRoots?: readonly string[];
  /** Built-in modules the exercise forbids (its manifest's forbiddenModules): refused, with why. */
  readonly forbiddenModules?: readonly string[];
}

/**
 * Forbidding `http` forbids what reaches the same code by another name: Node's internal
 * `_http_*` modules, and `module` (its createRequire loads any built-in by a name computed at
 * run time, which no bundler sees).
 */
function forbiddenNames(modules: readonly string[]): (name: string) => boolean {
  if (modules.length === 0) return () => false;
  const names = new Set(modules);
  return (name) => {
    const base = name.split('/')[0]!;
    return names.has(base) || base === 'module' || [...names].some((m) => base.startsWith(`_${m}_`));
  };
}

/**
 * Ways to load a module that a bundler cannot see the name of: when an exercise forbids
 * modules, a submission may not use them (a determined cheat still can; an honest learner is
 * told at once instead of at grading).
 */
const HIDDEN_LOADS: ReadonlyArray<{ pattern: RegExp; what: string }> = [
  { pattern: /\bimport\s*\(/, what: 'import() of a name computed at run time' },
  { pattern: /\bprocess\s*\.\s*binding\b|\binternalBinding\b/, what: "process.binding (Node's internals)" },
  { pattern: /\bgetBuiltinModule\b/, what: 'process.getBuiltinModule' },
];

/**
 * The grader's own fixtures (grader/test/fixtures of this checkout) may import this checkout's
 * reference solutions. Decided by the fixture's real path, which a learner's folder outside that
 * tree never has; a learner's folder gains nothing by it (only .ts/.js code, of this checkout).
 */
async function fixtureImportRoots(root: string): Promise<string[]> {
  const fixtures = await realRoot(path.join(repoRoot, 'grader', 'test', 'fixtures')).catch(() => undefined);
  if (!fixtures || !isInside(fixtures, root)) return [];
  return [await realRoot(path.join(repoRoot, 'solutions'))];
}

/**
 * Bundles src/main.ts and its relative imports into one ES module on the host, so a syntax error
 * is shown to the learner as such (not as a container that failed to start) and the container
 * runs plain JavaScript (less memory than a TypeScript loader).
 *
 * esbuild never touches the file system here: the plugin resolves every import itself, inside
 * the submission's real folder only (symbolic links included), and reads the files. So no
 * tsconfig.json or package.json above the folder is read either, and the bundle and its
 * source map name files only relative to the submission folder.
 */
export async function bundleSubmission(entry: string, outDir: string, options: BundleOptions = {}): Promise<string> {
  const outfile = path.join(outDir, 'main.mjs');
  const lexicalRoot = path.resolve(options.rootDir ?? path.dirname(path.dirname(entry)));
  const root = await realRoot(lexicalRoot);
  const importRoots = options.importRoots ? await Promise.all(options.importRoots.map(realRoot)) : await fixtureImportRoots(root);
  // Resolved by the plugin like any import, so an entry that is a link out of the folder is refused too.
  const entryRelative = path.relative(lexicalRoot, path.resolve(entry));
  log(`Bundling ${entry}...`);
  let result;
  try {
    result = await build({
      entryPoints: [entryRelative],
      outfile: 'main.mjs',
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Linked, not inline: its `sources` are rewritten below before it goes into the bundle.
      sourcemap: 'external',
      // The code is in the bundle already; the map only has to point stack traces at it.
      sourcesContent: false,
      // Never read: a tsconfig.json outside the folder (or its `extends`) must not steer the build.
      tsconfigRaw: '{}',
      logLevel: 'silent',
      plugins: [confinedTo(root, importRoots, options.forbiddenModules ?? [])],
    });
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? [];
    const text = errors.length > 0 ? errors.map(describe).join('\n') : (error as Error).message;
    throw new SubmissionBuildError(`${path.relative(process.cwd(), entry) || entry} does not compile`, text.trim());
  }
  const code = result.outputFiles.find((f) => f.path.endsWith('.mjs'))!.text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
  if (options.forbiddenModules?.length) {
    const hidden = HIDDEN_LOADS.find((h) => h.pattern.test(code));
    if (hidden) {
      throw new SubmissionBuildError(
        `${path.relative(process.cwd(), entry) || entry} uses ${hidden.what}`,
        `this exercise forbids the modules ${options.forbiddenModules.join(', ')}, and a module loaded that way cannot be checked against them: import modules by name, at the top of a file`,
      );
    }
  }
  const map = JSON.parse(result.outputFiles.find((f) => f.path.endsWith('.map'))!.text) as { sources: string[] };
  map.sources = map.sources.map((source) => source.replace(`${NAMESPACE}:`, ''));
  await writeFile(outfile, `${code}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`);
  log(`Bundled ${outfile}`);
  return outfile;
}

/** `src/main.ts:3: import "/tmp/x.json" is outside ...`: the learner's file and line, the learner's words. */
function describe(message: Message): string {
  const where = message.location ? `${message.location.file.replace(`${NAMESPACE}:`, '')}:${message.location.line}: ` : '';
  const line = message.location?.lineText ? `\n    ${message.location.lineText.trim()}` : '';
  return `${where}${message.text}${line}`;
}

function confinedTo(root: string, importRoots: readonly string[], forbiddenModules: readonly string[]): Plugin {
  const forbidden = forbiddenNames(forbiddenModules);
  const rootOf = (target: string) => [root, ...importRoots].find((r) => isInside(r, target));
  return {
    name: 'netkata-confined',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        const spec = args.path;
        const what = args.kind === 'entry-point' ? `the entry point "${spec}"` : `import "${spec}"`;
        if (args.with && Object.keys(args.with).length > 0) return { errors: [{ text: `${what} has import attributes; ${ONLY}` }] };
        if (args.kind !== 'entry-point' && !spec.startsWith('.') && !spec.startsWith('/')) {
          const name = spec.replace(/^node:/, '');
          const builtin = spec.startsWith('node:') || builtins.has(name) || builtins.has(name.split('/')[0]!);
          if (builtin && forbidden(name)) {
            return {
              errors: [
                {
                  text: `"${spec}" is not allowed in this exercise: its manifest forbids ${forbiddenModules.join(', ')} (and what reaches them: module, _http_*), because writing that part is the exercise; build on node:net`,
                },
              ],
            };
          }
          if (builtin) return { path: spec, external: true };
          return { errors: [{ text: `"${spec}" is not a Node built-in module; submissions may use Node's built-in modules only` }] };
        }
        const importerDir = args.kind === 'entry-point' ? root : path.dirname(path.join(root, args.importer));
        const target = path.resolve(importerDir, spec);
        const base = rootOf(target);
        if (!base) return { errors: [{ text: `${what} is outside your submission folder; ${ONLY}` }] };
        const ext = path.extname(target);
        const candidates = CODE_LOADERS[ext]
          ? [...(TS_FOR_JS[ext] ? [target.slice(0, -ext.length) + TS_FOR_JS[ext]] : []), target]
          : [...PROBE.map((p) => target + p), ...PROBE.map((p) => path.join(target, `index${p}`)), target];
        for (const candidate of candidates) {
          const found = await confinedPath(base, candidate);
          if (found.kind === 'missing' || found.kind === 'directory') continue;
          if (found.kind === 'outside') return { errors: [{ text: `${what} leads (through a symbolic link) outside your submission folder; ${ONLY}` }] };
          if (found.kind === 'other') return { errors: [{ text: `${what} is not a regular file; ${ONLY}` }] };
          if (!CODE_LOADERS[path.extname(candidate)] || !CODE_LOADERS[path.extname(found.real)]) {
            return { errors: [{ text: `${what} is not code (${path.extname(found.real) || 'no extension'}): data files are not bundled; ${ONLY}` }] };
          }
          if (found.sizeBytes > MAX_SOURCE_BYTES) {
            return { errors: [{ text: `${what} is ${found.sizeBytes} bytes; a source file may be at most ${MAX_SOURCE_BYTES} bytes` }] };
          }
          return { path: path.relative(root, found.real).split(path.sep).join('/'), namespace: NAMESPACE };
        }
        return { errors: [{ text: `${what} cannot be found in your submission folder (tried ${candidates.map((c) => path.relative(root, c)).join(', ')})` }] };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, async (args) => {
        // Read again through the confined resolution: a link swapped in after resolving is refused.
        const target = path.join(root, args.path);
        const base = rootOf(target);
        const found = base ? await confinedPath(base, target) : undefined;
        if (found?.kind !== 'file' || found.real !== target) return { errors: [{ text: `${args.path} changed while it was being bundled` }] };
        const contents = await readCapped(found.real);
        if (!contents) return { errors: [{ text: `${args.path} is not a regular file` }] };
        return { contents, loader: CODE_LOADERS[path.extname(found.real)]! };
      });
    },
  };
}

/** Opens without following a final link and reads at most MAX_SOURCE_BYTES (a file may grow). */
async function readCapped(file: string): Promise<Uint8Array | undefined> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return undefined;
    const buffer = Buffer.alloc(Math.min(stats.size, MAX_SOURCE_BYTES));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

import { builtinModules } from 'node:module';
import path from 'node:path';
import { build, formatMessages, type Message, type Plugin } from 'esbuild';
import { SubmissionBuildError } from '../errors.ts';
import { logger } from '../log.ts';

const log = logger('build');

const builtins = new Set(builtinModules);

/** Submissions use Node's built-in modules only; say so at build time, not as a crash in a container. */
const builtinsOnly: Plugin = {
  name: 'netkata-builtins-only',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (args.path.startsWith('node:') || builtins.has(name) || builtins.has(name.split('/')[0]!)) {
        return { path: args.path, external: true };
      }
      return { errors: [{ text: `"${args.path}" is not a Node built-in module; submissions may use Node's built-in modules only` }] };
    });
  },
};

/**
 * Bundles src/main.ts and its relative imports into one ES module on the host, so a syntax error
 * is shown to the learner as such (not as a container that failed to start) and the container
 * runs plain JavaScript (less memory than a TypeScript loader).
 */
export async function bundleSubmission(entry: string, outDir: string): Promise<string> {
  const outfile = path.join(outDir, 'main.mjs');
  log(`Bundling ${entry}...`);
  try {
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'silent',
      plugins: [builtinsOnly],
    });
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? [];
    const text = errors.length > 0
      ? (await formatMessages(errors, { kind: 'error', color: false })).join('\n')
      : (error as Error).message;
    const relative = path.relative(process.cwd(), entry);
    throw new SubmissionBuildError(`${relative} does not compile`, text.trim());
  }
  log(`Bundled ${outfile}`);
  return outfile;
}

// Layer boundaries (`npm run boundaries`, part of `npm run check`). type-only imports count too.
//
// grader/src, lowest first; a layer imports only layers below it:
//
//   base        errors, log, paths, lifetime, sanitize, endpoint, phase-clock (grader/src/*.ts but cli.ts)
//   impairment  pure link logic: profiles, calibration statistics, backend commands, the relay
//   peers       the peer programs' own code (TLS zoo, control secret)
//   catalog     manifests and the exercise list
//   runtime     where a submission runs (docker | local) and the link control beside it
//   images      the grader's images (built on the runtime's engine)
//   build       a submission's bundle or image
//   harness     what hidden and visible tests import (netkata/harness); runs inside vitest
//   runner      starts a run and runs a suite through vitest
//   report      scoring and the reporters
//   learner     the learner's progress file (records reports)
//   workshop    a workshop's store, grading line, board and HTTP server (grading itself is injected)
//   commands    one file per CLI command
//   cli         wiring
//
// The main process never loads the harness: nothing in grader/src outside it imports it (the
// runner hands vitest its path). Hidden suites import `netkata/harness` (the package export,
// resolved here through package.json's exports to grader/src/harness/index.ts, so no deeper
// file of it), npm packages, node's modules and their own folder. Exercises and solutions import
// nothing of grader/ (visible tests: netkata/harness only), nor each other.
/** What `netkata/harness` resolves to. */
const HARNESS_ENTRY = '^grader/src/harness/index\\.ts$';

/** @type {ReadonlyArray<readonly [string, string]>} */
const LAYERS = [
  ['base', '^grader/src/(?!cli\\.ts$)[^/]+\\.ts$'],
  ['impairment', '^grader/src/impairment/'],
  ['peers', '^grader/src/peers/'],
  ['catalog', '^grader/src/catalog/'],
  ['runtime', '^grader/src/runtime/'],
  ['images', '^grader/src/images/'],
  ['build', '^grader/src/build/'],
  ['harness', '^grader/src/harness/'],
  ['runner', '^grader/src/runner/'],
  ['report', '^grader/src/report/'],
  ['learner', '^grader/src/learner/'],
  ['workshop', '^grader/src/workshop/'],
  ['commands', '^grader/src/commands/'],
  ['cli', '^grader/src/cli\\.ts$'],
];

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const layerRules = LAYERS.slice(0, -1).map(([name, path], index) => ({
  name: `layer-${name}`,
  comment: `${name} imports only the layers below it (see the top of .dependency-cruiser.cjs)`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(index + 1).map(([, above]) => above) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle (type-only imports included) means a layer is drawn wrong: move the shared part down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'harness-only-in-tests',
      comment: 'The harness runs inside vitest; the CLI, runner and reporters never import it.',
      severity: 'error',
      from: { path: '^grader/src/', pathNot: '^grader/src/harness/' },
      to: { path: '^grader/src/harness/' },
    },
    {
      name: 'grader-src-stands-alone',
      comment: "The grader's code imports no suite, test, exercise, solution or benchmark.",
      severity: 'error',
      from: { path: '^grader/src/' },
      to: { path: '^(grader/suites|grader/test|exercises|solutions|bench)/' },
    },
    {
      name: 'suites-import-the-harness-by-name',
      comment: 'A hidden suite imports netkata/harness (the package export), npm packages, node: modules and its own folder.',
      severity: 'error',
      from: { path: '^grader/suites/([^/]+)/' },
      to: { pathNot: ['^grader/suites/$1/', HARNESS_ENTRY, '(^|/)node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'exercises-and-solutions-stand-alone',
      comment:
        'An exercise or a solution is a learner-sized program: nothing of grader/, of another exercise or of a solution (visible tests: netkata/harness by name).',
      severity: 'error',
      from: { path: '^(exercises|solutions)/([^/]+)/' },
      to: { pathNot: ['^$1/$2/', HARNESS_ENTRY, '(^|/)node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'harness-by-name-only-in-tests',
      comment: "netkata/harness is for tests: a starter's or a solution's src/ runs without it.",
      severity: 'error',
      from: { path: '^(exercises|solutions)/[^/]+/src/' },
      to: { path: HARNESS_ENTRY },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Fixtures stand in for hostile submissions; some must not resolve on purpose.
    exclude: { path: '^grader/test/fixtures/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};

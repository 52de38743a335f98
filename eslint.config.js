// @ts-check
// The project's lint (`npm run lint`, part of `npm run check`). Type-aware: typescript-eslint reads
// tsconfig.json through its project service, so the promise rules know what each call returns.
// Three sets: the grader, suites, solutions and tools in full; the project's tests without the
// no-unsafe-* family; learner-facing starters and fixture submissions relaxed (see below).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      // Does not parse, on purpose (the build-error fixture).
      'grader/test/fixtures/*/syntax-error/**',
      // Its tsconfig.json is a template the test fills in (`__SECRET_DIR__`), so no program for it.
      'grader/test/fixtures/hostile-build/tsconfig-paths/**',
    ],
  },
  {
    files: ['**/*.{ts,js,cjs,mjs}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The promise rules this code lives by: a dropped rejection is a hung grade or a crash.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Off: methods are async to honour an async interface (Link.set, Runtime.logs) or so that a
      // throw becomes a rejection; requiring an await in each would only add noise.
      '@typescript-eslint/require-await': 'off',
      // Off: matching control characters is the point of the sanitizers and of their tests.
      'no-control-regex': 'off',
      // `try { x = JSON.parse(s) } catch {}` (leave x undefined) is an idiom here; empty blocks
      // elsewhere are still errors.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // vitest's hooks and fixtures take their context as a destructuring pattern: `({}, suite) =>`.
      'no-empty-pattern': ['error', { allowObjectPatternsAsParameters: true }],
    },
  },
  {
    // The project's own tests read JSON reports and child output and check them with expect():
    // typing each parse would add casts, not checks. The grader and the hidden suites (which
    // parse what a hostile submission says) keep the no-unsafe-* rules.
    files: ['grader/test/**', 'exercises/*/test/**', 'vitest.config.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // What learners see (exercises/*/src starters: `// TODO` stubs with parameters and imports the
    // next stage uses) and the fixtures standing in for learners' submissions (faulty or hostile
    // on purpose: busy loops, `// @ts-nocheck` around imports that must fail to bundle). Linted
    // for the promise rules and type errors, not for tidiness; learners' files are not changed.
    files: ['exercises/*/src/**', 'grader/test/fixtures/**/src/**', 'grader/test/fixtures/**/submission/**'],
    rules: {
      '@typescript-eslint/no-unused-vars': 'off',
      '@typescript-eslint/ban-ts-comment': 'off',
      'no-empty': 'off',
    },
  },
  {
    // Plain JavaScript (the bin shim, the .cjs programs shipped into containers, loader hooks) is
    // outside tsconfig's program, so it is linted without type information.
    files: ['**/*.{js,cjs,mjs}'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);

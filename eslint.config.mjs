// Architecture rules only, checked by `npm test`: which project may import which (tags in each
// project.json), and what the balancer's pure core may not touch. Style is left to review.
import nx from '@nx/eslint-plugin';
import tsParser from '@typescript-eslint/parser';

export default [
  { ignores: ['dist/**', 'node_modules/**', 'tmp/**', '.bench/**', '.nx/**', 'coverage/**'] },
  {
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    languageOptions: { parser: tsParser },
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allowCircularSelfDependency: false,
          depConstraints: [
            // Layers: apps compose features; features build on the balancer, the data path and
            // utilities; the balancer and the data path on utilities only; utilities on nothing.
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:domain', 'type:data-path', 'type:util'] },
            { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:domain', 'type:data-path', 'type:util'] },
            { sourceTag: 'type:data-path', onlyDependOnLibsWithTags: ['type:util'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:util'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: [] },
            // Scopes: shared code knows no app; an app's code knows only its own scope and shared.
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared'] },
            { sourceTag: 'scope:registry', onlyDependOnLibsWithTags: ['scope:registry', 'scope:shared'] },
            { sourceTag: 'scope:backend-sim', onlyDependOnLibsWithTags: ['scope:backend-sim', 'scope:shared'] },
          ],
        },
      ],
    },
  },
  {
    // The balancer's spec: plain functions over plain data, the same in memory and in Lua.
    files: ['libs/balancing/src/core/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'ioredis', 'undici', '@nestjs/*', 'pino', 'prom-client', 'ws', '@lb/*'], message: 'core/ is pure: no I/O, framework or runtime imports' },
            { group: ['../store/*', '../agent/*', '../nest/*', '../token/*', '../testing/*'], message: 'core/ depends on nothing else in the library' },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'randomness comes in as an argument' },
        { object: 'Date', property: 'now', message: 'the clock comes in as an argument' },
      ],
      'no-restricted-globals': ['error', { name: 'performance', message: 'the clock comes in as an argument' }],
    },
  },
];

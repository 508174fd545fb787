import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // one copy of graphql: vite would pick its ESM build for our sources while
    // node_modules load the CommonJS one, and instanceof GraphQLError then fails
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    // stopping the engine gracefully takes seconds; vitest's default (10 s) could cut it short
    teardownTimeout: 90_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // one real engine (embedded) for the whole run, and a private Redis, started and stopped here
          globalSetup: ['test/helpers/engine-global-setup.ts', 'test/helpers/redis-global-setup.ts'],
          // files share the engine; run them one after another so timings stay honest
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          // the same promises on the engine as Hatchet releases it (Hatchet Cloud): `npm test` runs
          // this project on its own, after the others, so that one engine runs at a time
          name: 'unpatched',
          include: ['test/integration/counted-streams.test.ts'],
          globalSetup: ['test/helpers/unpatched-engine-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          // real clients (Apollo, urql, a browser) against a gateway and the real engine
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/helpers/engine-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});

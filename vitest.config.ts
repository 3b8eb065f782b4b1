import { defineConfig } from "vitest/config";
import LongestFirst from "./tests/setup/sequencer.ts";

/** Files that touch no store: on Postgres they would run the same again. */
const NO_STORE = [
  "command-sync",
  "docs",
  "export",
  "fake-discord",
  "fake-llm",
  "launch",
  "lint-corpus",
  "lint-rules",
  "pictures",
  "repetition",
  "strict-schema",
  "structure",
  "text",
  "validate-report",
];

/** Files that start PostgreSQL themselves, and already run on both stores in the SQLite pass. */
const BOTH_ALREADY = ["postgres", "roles", "schema-dialects"];

/**
 * The load tests, whose subject is not the store: the fifty-novel Discord budget, three processes through
 * one REST proxy, the fairness of the model slots and twelve authors queued through Discord. They run on
 * both stores; FOLIO_TEST_NO_LOAD=1 leaves them out of the Postgres pass, for a quicker run.
 */
const LOAD = ["discord-busy", "rest-proxy", "fairness", "discord-queue"];

const LEFT_OUT_ON_POSTGRES = [
  ...NO_STORE,
  ...BOTH_ALREADY,
  ...(process.env.FOLIO_TEST_NO_LOAD ? LOAD : []),
].map((name) => `tests/${name}.test.ts`);

/**
 * `npm test` runs the suite on both stores in one run: the `sqlite` pass, and the `postgres` pass, where
 * every engine and bot a test makes, and every process it starts, is on PostgreSQL (a throwaway cluster,
 * `tests/setup/postgres.ts`). `vitest run --project postgres` runs one pass alone.
 */
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
    // A process runs file after file, not one process per file: the libraries are loaded once per
    // process, not once per file (about 170 s of loading in a run of the suite, now about 60).
    isolate: false,
    setupFiles: ["tests/setup/worker.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "sqlite",
          include: ["tests/**/*.test.ts"],
          // The Postgres pass's cluster is named in the runner's environment: not for these workers.
          env: { FOLIO_TEST_POSTGRES: "", FOLIO_TEST_STORE: "sqlite" },
        },
      },
      {
        extends: true,
        test: {
          name: "postgres",
          include: ["tests/**/*.test.ts"],
          exclude: LEFT_OUT_ON_POSTGRES,
          globalSetup: ["tests/setup/postgres.ts"],
          env: { FOLIO_TEST_STORE: "postgres" },
        },
      },
    ],
  },
});

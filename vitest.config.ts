import { defineConfig } from "vitest/config";
import LongestFirst from "./tests/setup/sequencer";

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
 * The four load tests, whose subject is not the store: the fifty-novel Discord budget, three processes
 * through one REST proxy, twelve authors queued through Discord, and the fairness of the model slots.
 * Together they would add about four minutes to the Postgres pass, beyond what `npm test` may take.
 * FOLIO_TEST_ALL=1 runs them there too (`FOLIO_TEST_ALL=1 npm run test:postgres`): three pass; the
 * queue's bound that the four model slots are busy at least 90% of the time does not hold on Postgres,
 * whose claims take longer between one unit and the next (0.87 measured).
 */
const LOAD = ["discord-busy", "rest-proxy", "discord-queue", "fairness"];

const LEFT_OUT_ON_POSTGRES = [...NO_STORE, ...BOTH_ALREADY, ...(process.env.FOLIO_TEST_ALL ? [] : LOAD)].map(
  (name) => `tests/${name}.test.ts`,
);

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
    projects: [
      {
        extends: true,
        test: {
          name: "sqlite",
          include: ["tests/**/*.test.ts"],
          // The Postgres pass's cluster is named in the runner's environment: not for these workers.
          env: { FOLIO_TEST_POSTGRES: "" },
        },
      },
      {
        extends: true,
        test: {
          name: "postgres",
          include: ["tests/**/*.test.ts"],
          exclude: LEFT_OUT_ON_POSTGRES,
          globalSetup: ["tests/setup/postgres.ts"],
        },
      },
    ],
  },
});

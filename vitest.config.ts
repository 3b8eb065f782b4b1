import { defineConfig } from "vitest/config";

/** `npm run test:postgres`: the suite again, with every engine and bot the tests make on PostgreSQL. */
const onPostgres = process.env.FOLIO_TEST_DATABASE === "postgres";

/**
 * Files that run the same whichever store is switched on, left out of the Postgres pass: their
 * processes name their own SQLite file (the command line's, a restart's, a proxy's), they touch no
 * store, or they start PostgreSQL themselves (and already run on both).
 */
const SAME_ON_BOTH = [
  "cli-errors",
  "cli-gate",
  "cli-novel",
  "cli-versions",
  "command-sync",
  "crash",
  "discord-restart",
  "docs",
  "export",
  "fake-discord",
  "fake-llm",
  "lint-corpus",
  "lint-rules",
  "migration",
  "postgres",
  "realistic",
  "repetition",
  "rest-proxy",
  "revision-crash",
  "roles",
  "schema-dialects",
  "shards",
  "strict-schema",
  "structure",
  "text",
  "validate-report",
  "two-hosts",
].map((name) => `tests/${name}.test.ts`);

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    exclude: onPostgres ? SAME_ON_BOTH : [],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
    globalSetup: onPostgres ? ["tests/setup/postgres.ts"] : [],
  },
});

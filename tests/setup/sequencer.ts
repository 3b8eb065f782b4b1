import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * About how many seconds each of the longer test files takes on one of CI's two cores (measured on
 * SQLite; Postgres adds about a fifth). Files not listed take a few seconds.
 */
const SECONDS: Record<string, number> = {
  "rest-proxy": 76,
  "discord-busy": 70,
  roles: 80,
  "discord-queue": 52,
  fairness: 34,
  faults: 33,
  "cli-novel": 29,
  shards: 27,
  export: 26,
  crash: 25,
  "cli-notes": 23,
  "cli-errors": 22,
  streaming: 21,
  migration: 18,
  "outline-parts": 16,
  "discord-actions": 16,
  "revision-crash": 15,
  "two-hosts": 14,
  "discord-restart": 14,
  realistic: 14,
  "context-window": 13,
  postgres: 12,
  story: 11,
  "cli-versions": 11,
  "cli-gate": 11,
};
const UNLISTED = 4;

const seconds = (spec: TestSpecification) => {
  const name = /([^/\\]+)\.test\.ts$/.exec(spec.moduleId)?.[1] ?? "";
  return (SECONDS[name] ?? UNLISTED) * (spec.project.name === "postgres" ? 1.2 : 1);
};

/**
 * Longest first, across both stores' passes: two workers share the files, and a long file started last
 * would leave one worker idle while the other finishes it. (Vitest's own order puts larger files first
 * when it has no timings of an earlier run, as on a fresh clone, and the longest files here are short.)
 */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => seconds(b) - seconds(a));
  }
}

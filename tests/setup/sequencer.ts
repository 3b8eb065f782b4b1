import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * About how many seconds each of the longer test files takes on one of CI's two cores (measured on
 * SQLite; Postgres adds about a fifth). Files not listed take a few seconds.
 */
const SECONDS: Record<string, number> = {
  "rest-proxy": 30,
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
  migration: 12,
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

/**
 * Files whose bounds are on time and light on CPU, started first, while the heaviest files have not yet
 * loaded both cores: the twelve authors' queue, on both stores side by side (its first scenes came up
 * to 1.6× apart, and a queued author went untold, when it ran beside the fifty-novel busy server).
 */
const FIRST = ["discord-queue"];

const nameOf = (spec: TestSpecification) => /([^/\\]+)\.test\.ts$/.exec(spec.moduleId)?.[1] ?? "";

/** Sort key: files in FIRST before all others, in FIRST's order; then longer before shorter. */
const rank = (spec: TestSpecification) => {
  const first = FIRST.indexOf(nameOf(spec));
  if (first >= 0) return 1_000_000 - first;
  return (SECONDS[nameOf(spec)] ?? UNLISTED) * (spec.project.name === "postgres" ? 1.2 : 1);
};

/**
 * Longest first, across both stores' passes: two workers share the files, and a long file started last
 * would leave one worker idle while the other finishes it. (Vitest's own order puts larger files first
 * when it has no timings of an earlier run, as on a fresh clone, and the longest files here are short.)
 */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => rank(b) - rank(a));
  }
}

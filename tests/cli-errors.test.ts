import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { cliEnv, peekRows, runCli, tempDir } from "./helpers/cli";

const PREMISE = "A lighthouse keeper finds a map that redraws itself every night.";

/** Each mistake gets one clear line, a non-zero exit, and a database with nothing half-done in it. */
describe("folio write with bad input", () => {
  let fake: FakeLlm;

  beforeAll(async () => {
    fake = await startFakeLlm({ apiKey: "right-key" });
  });
  afterAll(async () => {
    await fake.close();
  });

  const env = (dir: string, extra: Record<string, string> = {}) =>
    cliEnv(fake.url, join(dir, "folio.db"), {
      OPENAI_API_KEY: "right-key",
      FOLIO_LLM_MAX_RETRIES: "0",
      ...extra,
    });

  it.each([
    [["--premise", ""], "The premise needs at least 10 characters"],
    [["--premise", PREMISE, "--scenes", "0"], "scenes must be a whole number from 3 to 120."],
    [["--premise", PREMISE, "--words", "abc"], "words must be a whole number from 2,000 to 200,000."],
    [["--premise", PREMISE, "--scenes", "12abc"], "scenes must be a whole number from 3 to 120."],
    [["--scenes", "5"], "--premise is required"],
    [["--premise", PREMISE, "--colour", "blue"], "Unknown option '--colour'"],
  ])("rejects %j before touching the database", async (args, message) => {
    const dir = tempDir();
    const result = await runCli(["write", ...args], env(dir), dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(message);
    // No file made, and (with the suite on Postgres) no table in the database standing for it.
    expect(existsSync(join(dir, "folio.db"))).toBe(false);
    expect(
      peekRows(
        join(dir, "folio.db"),
        "select table_name from information_schema.tables where table_schema = 'public'",
      ),
    ).toEqual([]);
  });

  it("names a bad configuration value in one line", async () => {
    const dir = tempDir();
    const result = await runCli(
      ["write", "--premise", PREMISE],
      env(dir, { FOLIO_LLM_CONCURRENCY: "lots" }),
      dir,
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^Configuration error: FOLIO_LLM_CONCURRENCY is "lots": /);
  });

  it("reports an unreachable endpoint and leaves the project stopped, unleased and resumable", async () => {
    const dir = tempDir();
    const result = await runCli(
      ["write", "--premise", PREMISE, "--yes"],
      env(dir, { OPENAI_BASE_URL: "http://127.0.0.1:9/v1" }),
      dir,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "Project 1 needs attention: High Concept failed: Cannot reach the model endpoint http://127.0.0.1:9/v1",
    );
    expect(result.stdout).toContain("folio resume 1");
    expectStoppedCleanly(join(dir, "folio.db"));
  });

  it("reports a wrong API key without retrying it", async () => {
    const dir = tempDir();
    const result = await runCli(
      ["write", "--premise", PREMISE, "--yes"],
      env(dir, { OPENAI_API_KEY: "wrong-key" }),
      dir,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("The model endpoint rejected the API key (401): check OPENAI_API_KEY.");
    expect(peekRows(join(dir, "folio.db"), "select outcome from llm_calls")).toEqual([
      { outcome: "http_401" },
    ]);
    expectStoppedCleanly(join(dir, "folio.db"));
  });

  it("explains an unknown project id for export and resume", async () => {
    const dir = tempDir();
    const exported = await runCli(["export", "42"], env(dir), dir);
    expect(exported.code).toBe(2);
    expect(exported.stderr.trim()).toBe('There is no project "42". Run folio status to list projects.');
    const resumed = await runCli(["resume", "42"], env(dir), dir);
    expect(resumed.code).toBe(2);
    const format = await runCli(["export", "--format", "pdf"], env(dir), dir);
    expect(format.stderr.trim()).toBe("--format must be one of docx, epub, markdown, cover.");
  });
});

function expectStoppedCleanly(dbPath: string) {
  const rows = peekRows<{
    status: string;
    stage: string;
    lease_owner: string | null;
    attention: string | null;
  }>(dbPath, "select status, stage, lease_owner, attention from projects");
  const [outputs] = peekRows<{ n: number }>(dbPath, "select count(*) as n from stage_outputs");
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ status: "needs_attention", stage: "concept", lease_owner: null });
  expect(rows[0]!.attention).toBeTruthy();
  expect(outputs?.n).toBe(0);
}

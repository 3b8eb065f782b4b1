import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../db/client";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import {
  cliEnv,
  eventually,
  peekRows,
  runCli,
  startCliInTerminal,
  storeOf,
  tempDir,
  waitForExit,
} from "./helpers/cli";
import { rowsOf } from "./helpers/rows";

const PREMISE = "A bookbinder finds that every book she repairs loses its last chapter.";
const WRITE = ["write", "--premise", PREMISE, "--scenes", "4", "--words", "4000"];
const OUTLINE_QUESTION = "Approve the outline? [y]es, [r]evise with notes, [N]o:";

interface LeaseRow {
  status: string;
  stage: string;
  lease_owner: string | null;
}
const row = (dbPath: string) =>
  peekRows<LeaseRow>(dbPath, "select status, stage, lease_owner from projects")[0];
const count = (text: string, part: string) => text.split(part).length - 1;

/** The approval gates of `folio write`, answered on a real pseudo-terminal. */
describe("the command line at its approval gates", () => {
  let fake: FakeLlm;

  beforeAll(async () => {
    fake = await startFakeLlm({ seed: 23 });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("stops cleanly on Ctrl-C at the question: the resume line, exit 130, the lease released", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "folio.db");
    const cli = startCliInTerminal(WRITE, cliEnv(fake.url, dbPath), dir);
    await eventually(() => cli.output.stdout.includes(OUTLINE_QUESTION), 60_000);
    cli.stdin!.write("\x03");
    const result = await waitForExit(cli);
    expect(result.code, result.stdout).toBe(130);
    expect(result.stdout).toContain("Stopped. Continue with: folio resume 1");
    expect(result.stdout).not.toMatch(/AbortError|at .*\.js:\d+/);
    expect(row(dbPath)).toMatchObject({ status: "waiting", stage: "outline_gate", lease_owner: null });
  }, 90_000);

  it("takes [r]evise with notes, plans the outline again with them, and asks again", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "folio.db");
    const cli = startCliInTerminal(WRITE, cliEnv(fake.url, dbPath), dir);
    await eventually(() => cli.output.stdout.includes(OUTLINE_QUESTION), 60_000);
    const before = fake.log.length;
    cli.stdin!.write("r\r");
    await eventually(() => cli.output.stdout.includes("What should change in the outline?"), 30_000);
    cli.stdin!.write("Let the binder's apprentice betray her in the middle.\r");
    await eventually(() => count(cli.output.stdout, OUTLINE_QUESTION) === 2, 60_000);
    // The revision's requests carried the author's notes.
    const revised = fake.log.slice(before).filter((e) => e.prompt.includes("binder's apprentice betray her"));
    expect(revised.length).toBeGreaterThan(0);
    cli.stdin!.write("n\r");
    const result = await waitForExit(cli);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain("Continue with: folio resume 1");
    expect(row(dbPath)).toMatchObject({ status: "waiting", stage: "outline_gate", lease_owner: null });
  }, 120_000);

  it("says who holds a project another process is running, waits for it, and carries on once it is free", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "folio.db");
    const env = cliEnv(fake.url, dbPath, { FOLIO_LEASE_MS: "60000" });
    // Written up to its first gate without a terminal: the command leaves it waiting there.
    const first = await runCli(WRITE, env, dir);
    expect(first.stdout).toContain("waits for approval (no terminal to ask on)");
    // Another live process (this test runner) holds it now, running.
    const other = `${hostname()}:${process.pid}:elsewhere`;
    const db = openDatabase(storeOf(dbPath));
    await rowsOf(
      db,
      "update projects set status = 'running', lease_owner = ?, lease_expires_at = ?",
      other,
      Date.now() + 60_000,
    );
    const resumed = startCliInTerminal(["resume", "1", "--yes"], env, dir);
    await eventually(() => resumed.output.stdout.includes(`Project 1 is held by ${other} until `), 30_000);
    expect(resumed.output.stdout).toMatch(/until \d\d:\d\d:\d\d; waiting…/);
    expect(resumed.exitCode).toBeNull();
    // The other process lets go: this one takes the book to the end.
    await rowsOf(db, "update projects set lease_owner = null, lease_expires_at = null");
    await closeDatabase(db);
    const result = await waitForExit(resumed);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain("Project 1 is done");
    expect(row(dbPath)).toMatchObject({ status: "done", lease_owner: null });
  }, 180_000);
});

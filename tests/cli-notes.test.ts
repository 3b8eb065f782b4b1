import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../db/client";
import { setChapterNote } from "../src/pipeline/notes";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { cliEnv, runCli, storeOf, tempDir } from "./helpers/cli";
import { readPng } from "./helpers/png";

const NOTE = "Too slow: start with the flood already in the house.";

/**
 * Chapter notes and the status card on the command line (`folio notes`, `folio status ID`), and the
 * pictures it writes: the book's shape beside the report, the cover on request.
 */
describe("folio notes and folio status ID", () => {
  let fake: FakeLlm;

  beforeAll(async () => {
    fake = await startFakeLlm({ seed: 29 });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("adds, lists and replaces a chapter's note until revision starts; the report lists it; status shows the card", async () => {
    const dir = tempDir();
    const env = cliEnv(fake.url, join(dir, "folio.db"));
    const folio = (...args: string[]) => runCli(args, env, dir);
    // Without a terminal, the project stops at the outline gate.
    const write = await folio(
      "write",
      "--premise",
      "A lockkeeper's daughter hears the canal count the boats it has drowned.",
      "--scenes",
      "5",
      "--words",
      "5000",
      "--out",
      "book.docx",
    );
    expect(write.code).toBe(0);

    const waiting = await folio("status", "1");
    expect(waiting.code).toBe(0);
    expect(waiting.stdout).toMatch(/^#1 .+\nPremise: A lockkeeper's daughter/);
    expect(waiting.stdout).toContain("\nNow: Waiting for your outline approval\n");
    expect(waiting.stdout).toMatch(/\nScenes 0\/5 · Words 0 \/ 5,000 · Tokens [\d,]+ · Cost \$\d+\.\d\d\n/);
    expect(waiting.stdout).toContain(
      'You can: folio resume 1 asks for approval at the terminal; folio resume 1 --yes approves. folio notes 1 CHAPTER "…" steers',
    );

    const added = await folio("notes", "1", "1", "Mara would never apologise here.");
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^Noted on chapter 1/);
    const replaced = await folio("notes", "1", "1", NOTE);
    expect(replaced.stdout).toContain("Note replaced on chapter 1");
    expect(replaced.stdout).toContain("The earlier note was: Mara would never apologise here.");
    const listed = await folio("notes", "1");
    expect(listed.stdout).toMatch(new RegExp(`^Chapter 1: .+\\n  ${NOTE}\\n$`));

    // Bad input is refused with the reason, exit 2.
    const missing = await folio("notes", "1", "99", "x");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^Chapter 99 does not exist: the book has chapters 1–\d+\.\n$/);
    // (The same refusals, said the same way, without a process each.)
    const db = openDatabase(storeOf(join(dir, "folio.db")));
    try {
      expect(await setChapterNote(db, 1, 1, "x".repeat(4001), "cli")).toEqual({
        ok: false,
        message: "A note is at most 4000 characters; this one has 4001.",
      });
      expect(await setChapterNote(db, 7, 1, "x", "cli")).toEqual({
        ok: false,
        message: "There is no project 7.",
      });
    } finally {
      await closeDatabase(db);
    }

    const done = await folio("resume", "1", "--yes");
    expect(done.code).toBe(0);
    const report = readFileSync(join(dir, "book.report.md"), "utf8");
    expect(report).toContain("## Your notes");
    expect(report).toMatch(
      /### Chapter 1: .+\n\n> Too slow: start with the flood already in the house\.\n\n- Scene 1: /,
    );
    // Self-refinement was given the note first for chapter 1's scenes.
    const rewrite = fake.log.find(
      (e) => e.firstLine.startsWith("Revise scene 1:") && e.prompt.includes(NOTE),
    );
    expect(rewrite?.prompt).toMatch(
      /Instructions:\n- The author's note on this chapter \(it comes first\): Too slow/,
    );

    // Once revision has started (here: the book is finished), notes no longer change.
    const late = await folio("notes", "1", "1", "Later thoughts.");
    expect(late.code).toBe(2);
    expect(late.stderr).toBe("The book is finished: notes steer revision, which is over.\n");
    const finished = await folio("status", "1");
    expect(finished.stdout).toContain("\nNow: Delivered\n");
    expect(finished.stdout).toContain("You can: folio export 1 writes the manuscript");

    // The book's shape is drawn beside the report, which shows it; the cover comes on request.
    expect(done.stdout).toContain("(the book's shape beside it: book.shape.png)");
    expect(readPng(readFileSync(join(dir, "book.shape.png")))).toMatchObject({ width: 1600, height: 900 });
    expect(report).toContain("](book.shape.png)");
    const cover = await folio("export", "1", "--format", "cover", "--out", "cover.png");
    expect(cover.code).toBe(0);
    expect(readPng(readFileSync(join(dir, "cover.png")))).toMatchObject({ width: 1600, height: 2560 });
  }, 180_000);
});

import { join } from "node:path";
import Database from "better-sqlite3";
import { encode } from "gpt-tokenizer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { type CliResult, cliEnv, runCli, tempDir } from "./helpers/cli";
import { readDocxWithPandoc } from "./helpers/pandoc";

/** A whole 50-scene, 60,000-word novel written through the command line against the fake endpoint. */
describe("folio write: a full novel", () => {
  let fake: FakeLlm;
  let dir: string;
  let result: CliResult;

  beforeAll(async () => {
    fake = await startFakeLlm({ seed: 7 });
    dir = tempDir();
    result = await runCli(
      [
        "write",
        "--premise",
        "A cartographer's apprentice discovers that the city's maps are rewriting its streets at night.",
        "--yes",
        "--out",
        "novel.docx",
      ],
      cliEnv(fake.url, join(dir, "folio.db")),
      dir,
    );
  }, 300_000);

  afterAll(async () => {
    await fake.close();
  });

  it("exits cleanly and says where the book is", () => {
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Wrote ${join(dir, "novel.docx")}`);
    expect(result.stdout).toMatch(/Project 1 is done\. 50\/50 scenes/);
  });

  it("stores every scene, in order, with its text, summary and a kept version", () => {
    const db = new Database(join(dir, "folio.db"), { readonly: true });
    const scenes = db
      .prepare(
        "select number, chapter, words, text, summary from scenes where project_id = 1 order by number",
      )
      .all() as {
      number: number;
      chapter: number;
      words: number;
      text: string | null;
      summary: string | null;
    }[];
    expect(scenes.map((s) => s.number)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(scenes.every((s) => s.text && s.summary && s.words > 0)).toBe(true);
    const chapters = scenes.map((s) => s.chapter);
    expect(chapters).toEqual([...chapters].sort((a, b) => a - b));
    const total = scenes.reduce((a, s) => a + s.words, 0);
    expect(total).toBeGreaterThan(60_000 * 0.85);
    expect(total).toBeLessThan(60_000 * 1.15);
    const versions = db
      .prepare("select count(*) n from scene_versions where project_id = 1 and stage = 'drafting'")
      .get() as {
      n: number;
    };
    expect(versions.n).toBe(50);
    const project = db.prepare("select status, stage, lease_owner from projects where id = 1").get();
    expect(project).toEqual({ status: "done", stage: "done", lease_owner: null });
    const calls = db
      .prepare("select count(*) n, sum(prompt_tokens) p, sum(cached_tokens) c from llm_calls")
      .get() as {
      n: number;
      p: number;
      c: number;
    };
    expect(calls.n).toBeGreaterThanOrEqual(50 * 2 + 5);
    expect(calls.c).toBeGreaterThan(0);
    db.close();
  });

  it("writes a .docx that pandoc reads with every chapter and about the target word count", () => {
    const db = new Database(join(dir, "folio.db"), { readonly: true });
    const chapterCount = (
      db.prepare("select count(*) n from chapters where project_id = 1").get() as { n: number }
    ).n;
    const sceneWords = (
      db.prepare("select sum(words) w from scenes where project_id = 1").get() as { w: number }
    ).w;
    db.close();
    const book = readDocxWithPandoc(join(dir, "novel.docx"));
    expect(book.headings).toHaveLength(chapterCount);
    expect(book.headings.every((h, i) => h.startsWith(`Chapter ${i + 1}`))).toBe(true);
    expect(book.words).toBeGreaterThanOrEqual(sceneWords);
    expect(book.words).toBeLessThan(sceneWords * 1.05);
  });

  it("keeps the scene prompt flat: scene 50's prompt is at most 1.5 times scene 2's", () => {
    const prompts = draftPrompts(fake);
    expect(prompts.size).toBe(50);
    const ratio = prompts.get(50)!.promptTokens / prompts.get(2)!.promptTokens;
    expect(ratio).toBeLessThanOrEqual(1.5);
  });

  it("opens consecutive scene prompts with the same 1,024+ tokens, byte for byte", () => {
    const prompts = draftPrompts(fake);
    for (let n = 2; n <= 50; n++) {
      const a = prompts.get(n - 1)!.prompt;
      const b = prompts.get(n)!.prompt;
      let same = 0;
      while (same < a.length && a[same] === b[same]) same++;
      expect(encode(a.slice(0, same)).length, `scenes ${n - 1} and ${n}`).toBeGreaterThanOrEqual(1024);
    }
    expect(
      fake.log.filter((e) => e.firstLine.startsWith("Draft scene") && e.cachedTokens >= 1024).length,
    ).toBeGreaterThanOrEqual(49);
  });
});

function draftPrompts(fake: FakeLlm) {
  const byScene = new Map<number, { prompt: string; promptTokens: number }>();
  for (const entry of fake.log) {
    const match = /^Draft scene (\d+) of \d+/.exec(entry.firstLine);
    if (match && entry.outcome === "ok") byScene.set(Number(match[1]), entry);
  }
  return byScene;
}

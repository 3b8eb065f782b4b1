import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encode } from "gpt-tokenizer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLlm, startFakeLlm } from "./fakes/llm-server";
import { type CliResult, cliEnv, peekRows, runCli, tempDir } from "./helpers/cli";
import { readDocxWithPandoc } from "./helpers/pandoc";
import { suiteOnPostgres } from "./helpers/postgres";
import { epubcheckCommand, hasPdfTools, pdfPagesOfDocx, runEpubcheck } from "./helpers/readers";

/** A whole 50-scene, 60,000-word novel written through the command line, all twelve stages, against the fake endpoint. */
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

  /** Rows of the book's store (its file, or with the suite on Postgres the database standing for it). */
  const rows = <T>(query: string) => peekRows<T>(join(dir, "folio.db"), query);

  it("exits cleanly and says where the book is", () => {
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Wrote ${join(dir, "novel.docx")} and ${join(dir, "novel.report.md")}`);
    expect(result.stdout).toMatch(/Project 1 is done\. 50\/50 scenes/);
  });

  it("prints each chapter's title and words as its last scene is drafted, in order", () => {
    const printed = [...result.stdout.matchAll(/^\[project 1\] Chapter (\d+): (.+) — ([\d,]+) words$/gm)].map(
      (m) => ({ number: Number(m[1]), title: m[2], words: Number(m[3]!.replace(/,/g, "")) }),
    );
    const chapters = rows<{ number: number; title: string; words: number }>(
      `select c.number, c.title, sum(v.words) as words from chapters c
         join scenes s on s.project_id = c.project_id and s.chapter = c.number
         join scene_versions v on v.project_id = s.project_id and v.scene_number = s.number and v.stage = 'drafting'
       where c.project_id = 1 group by c.number, c.title order by c.number`,
    );
    expect(chapters.length).toBeGreaterThan(1);
    expect(printed).toEqual(chapters);
    // Each line comes after its chapter's last scene and before the next chapter's first.
    const at = (pattern: RegExp) => result.stdout.search(pattern);
    expect(at(/Chapter 1: /)).toBeLessThan(at(/Chapter 2: /));
    expect(at(/Chapter 1: /)).toBeLessThan(at(/Scene Drafting done/));
  });

  it("stores every scene, in order, with its text, summary and a kept version", () => {
    const scenes = rows<{
      number: number;
      chapter: number;
      words: number;
      text: string | null;
      summary: string | null;
    }>("select number, chapter, words, text, summary from scenes where project_id = 1 order by number");
    expect(scenes.map((s) => s.number)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(scenes.every((s) => s.text && s.summary && s.words > 0)).toBe(true);
    const chapters = scenes.map((s) => s.chapter);
    expect(chapters).toEqual([...chapters].sort((a, b) => a - b));
    const total = scenes.reduce((a, s) => a + s.words, 0);
    expect(total).toBeGreaterThan(60_000 * 0.85);
    expect(total).toBeLessThan(60_000 * 1.15);
    const [versions] = rows<{ n: number }>(
      "select count(*) as n from scene_versions where project_id = 1 and stage = 'drafting'",
    );
    expect(versions?.n).toBe(50);
    const [project] = rows("select status, stage, lease_owner from projects where id = 1");
    expect(project).toEqual({ status: "done", stage: "done", lease_owner: null });
    const [calls] = rows<{ n: number; p: number; c: number }>(
      "select count(*) as n, sum(prompt_tokens) as p, sum(cached_tokens) as c from llm_calls",
    );
    expect(calls?.n).toBeGreaterThanOrEqual(50 * 2 + 5);
    expect(calls?.c).toBeGreaterThan(0);
  });

  it("writes a .docx that pandoc reads with every chapter and about the target word count", () => {
    const chapterCount = rows<{ n: number }>("select count(*) as n from chapters where project_id = 1")[0]!.n;
    const sceneWords = rows<{ w: number }>("select sum(words) as w from scenes where project_id = 1")[0]!.w;
    const book = readDocxWithPandoc(join(dir, "novel.docx"));
    expect(book.headings).toHaveLength(chapterCount);
    expect(book.headings.every((h, i) => h.startsWith(`Chapter ${i + 1}`))).toBe(true);
    expect(book.words).toBeGreaterThanOrEqual(sceneWords);
    expect(book.words).toBeLessThan(sceneWords * 1.05);
    expect(book.words).toBeGreaterThan(60_000 * 0.85);
    expect(book.words).toBeLessThan(60_000 * 1.15);
    expect(book.headings).not.toContain("Contents");
    expect(book.text).toContain("Contents");
  });

  it("sent the model only requests OpenAI's own OpenAPI specification allows", () => {
    expect(fake.log.length).toBeGreaterThan(100);
    expect(fake.violations).toEqual([]);
  });

  it("ran all twelve stages, each revision stage over every scene it concerns", () => {
    const steps = Object.fromEntries(
      rows<{ step: string; n: number }>("select step, count(*) as n from revision_results group by step").map(
        (r) => [r.step, r.n],
      ),
    );
    const stages = rows<{ stage: string }>("select distinct stage from llm_calls").map((r) => r.stage);
    for (const step of ["refine", "passes.dialogue", "passes.pacing", "passes.sensory", "voice", "motifs"])
      expect(steps[step], step).toBe(50);
    expect(stages).toEqual(
      expect.arrayContaining([
        "concept",
        "world",
        "beats",
        "characters",
        "outline",
        "drafting",
        "refine",
        "continuity",
        "passes",
      ]),
    );
  });

  // LibreOffice's layout of the file is the export's, not the store's: it is checked once, on SQLite.
  it.skipIf(!hasPdfTools || suiteOnPostgres())(
    "lays out in LibreOffice with every chapter starting a new page",
    async () => {
      const book = readDocxWithPandoc(join(dir, "novel.docx"));
      const pages = await pdfPagesOfDocx(join(dir, "novel.docx"), dir);
      const firstLines = pages.map(
        (page) =>
          page
            .split("\n")
            .map((l) => l.trim())
            .find(Boolean) ?? "",
      );
      // A long chapter title wraps, so the page's first line is the heading's first line.
      book.headings.forEach((heading, i) => {
        const starts = firstLines.filter(
          (line) => line.startsWith(`Chapter ${i + 1}`) && heading.startsWith(line),
        );
        expect(starts, heading).toHaveLength(1);
      });
    },
    180_000,
  );

  it("writes the manuscript report beside the book", () => {
    const report = readFileSync(join(dir, "novel.report.md"), "utf8");
    for (const section of [
      "Words per chapter",
      "Validation",
      "Continuity",
      "Motif map",
      "Machine-prose lint",
      "Guard rejections",
      "Tokens and cost per stage",
    ]) {
      expect(report).toContain(section);
    }
    expect(report).toMatch(/\| *refine *\|/);
  });

  it("exports EPUB that passes epubcheck, and Markdown with every chapter", async () => {
    const env = cliEnv(fake.url, join(dir, "folio.db"));
    const epub = await runCli(["export", "--format", "epub", "--out", "novel.epub"], env, dir);
    expect(epub.code, epub.stderr).toBe(0);
    if (epubcheckCommand()) {
      const { code, output } = await runEpubcheck(join(dir, "novel.epub"));
      expect(code, output).toBe(0);
      expect(output).not.toMatch(/^(ERROR|WARNING|FATAL)/m);
    }
    const md = await runCli(["export", "1", "--format", "markdown", "--out", "novel.md"], env, dir);
    expect(md.code, md.stderr).toBe(0);
    const markdown = readFileSync(join(dir, "novel.md"), "utf8");
    const chapters = readDocxWithPandoc(join(dir, "novel.docx")).headings.length;
    expect(markdown.match(/^## Chapter \d+/gm)).toHaveLength(chapters);
    expect(markdown).toContain("* * *");
  }, 120_000);

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

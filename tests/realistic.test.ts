import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHATTER_CLOSINGS,
  CHATTER_OPENINGS,
  type FakeLlm,
  REALISTIC,
  startFakeLlm,
} from "./fakes/llm-server";
import { type CliResult, cliEnv, peekRows, runCli, tempDir } from "./helpers/cli";
import { readDocxWithPandoc } from "./helpers/pandoc";

const TARGET = 60_000;

/**
 * A whole novel through the command line against a model that behaves like real ones: it writes short,
 * stops at its output cap, chatters, refuses now and then, streams with pauses, and has a window that
 * silently drops what does not fit. An author who is told a scene was refused runs `folio resume`.
 */
describe("folio write against a realistic model", () => {
  let fake: FakeLlm;
  let dir: string;
  const runs: CliResult[] = [];

  beforeAll(async () => {
    // Refusals come now and then at random; one is certain, on scene 7's draft, so one is always met.
    fake = await startFakeLlm({
      seed: 41,
      ...REALISTIC,
      faults: { ...REALISTIC.faults, decline: [{ match: "Draft scene 7 of", kind: "refusal", times: 1 }] },
    });
    dir = tempDir();
    const env = cliEnv(fake.url, join(dir, "folio.db"), {
      FOLIO_CONTEXT_TOKENS: String(REALISTIC.contextWindow),
      FOLIO_MAX_OUTPUT_TOKENS: String(REALISTIC.outputCap),
    });
    runs.push(
      await runCli(
        [
          "write",
          "--premise",
          "A lighthouse keeper's daughter finds the lamp signals a ship that sank a century ago.",
          "--scenes",
          "50",
          "--words",
          String(TARGET),
          "--yes",
          "--out",
          "novel.docx",
        ],
        env,
        dir,
      ),
    );
    // A refusal stops the project with needs-attention; the author resumes, as the message says.
    while (runs.at(-1)!.code !== 0 && runs.length < 8) runs.push(await runCli(["resume", "--yes"], env, dir));
    runs.push(await runCli(["export", "1", "--format", "docx", "--out", "final.docx"], env, dir));
  }, 600_000);

  afterAll(async () => {
    await fake.close();
  });

  it("completes, with the book within 10% of its target length", async () => {
    expect(runs.at(-2)!.code).toBe(0);
    expect(runs.at(-2)!.stdout).toMatch(/Project 1 is done\. 50\/50 scenes/);
    expect(runs.at(-1)!.code).toBe(0);
    const [{ total: words } = { total: 0 }] = peekRows<{ total: number }>(
      join(dir, "folio.db"),
      "select sum(words) as total from scenes where project_id = 1",
    );
    expect(Math.abs(words / TARGET - 1)).toBeLessThanOrEqual(0.1);
    const { words: inDocx } = readDocxWithPandoc(join(dir, "final.docx"));
    expect(Math.abs(inDocx / TARGET - 1)).toBeLessThanOrEqual(0.12);
  });

  it("leaves no chatter line in the .docx", () => {
    const { text } = readDocxWithPandoc(join(dir, "final.docx"));
    const lines = new Set(text.split("\n").map((l) => l.trim()));
    for (const chatter of [...CHATTER_OPENINGS, ...CHATTER_CLOSINGS])
      for (const line of chatter.split("\n").filter((l) => l.trim() && l.trim() !== "---"))
        expect(lines.has(line.trim()), line).toBe(false);
    // The model did chatter: the cleaning had work to do.
    expect(fake.log.filter((e) => e.kind === "prose").length).toBeGreaterThan(100);
  });

  it("sends only requests OpenAI's own OpenAPI specification allows, continuations and retries included", () => {
    expect(fake.violations).toEqual([]);
  });

  it("never sends the same request again after a cut-off answer", () => {
    const cut = fake.log.filter((e) => e.outcome === "length");
    expect(cut.length).toBeGreaterThan(0);
    const key = (e: FakeLlm["log"][number]) => `${e.prompt}\u0000${JSON.stringify(e.params)}`;
    for (const entry of cut) {
      const again = fake.log.filter((e) => e.seq > entry.seq && key(e) === key(entry));
      expect(again, `request ${entry.seq} (${entry.firstLine})`).toEqual([]);
    }
  });

  it("records every refusal, with its text, and every request inside the window", async () => {
    const refused = fake.log.filter((e) => e.outcome === "refusal");
    expect(refused.length).toBeGreaterThan(0);
    // The author was told which scene was refused, and why, and the first run stopped there.
    expect(runs[0]!.code).not.toBe(0);
    expect(`${runs[0]!.stdout}${runs[0]!.stderr}`).toMatch(/scene 7[\s\S]*can't help/i);
    const rows = <T>(query: string) => peekRows<T>(join(dir, "folio.db"), query);
    const recorded = rows<{ error: string | null }>("select error from llm_calls where outcome = 'refusal'");
    expect(recorded).toHaveLength(refused.length);
    for (const row of recorded) expect(row.error).toContain("can't help");
    const [cleaned] = rows<{ n: number }>(
      "select count(*) as n from llm_calls where project_id = 1 and cleaned is not null",
    );
    expect(cleaned?.n).toBeGreaterThan(0);
    for (const entry of fake.log) expect(entry.promptTokens).toBeLessThan(REALISTIC.contextWindow!);
  });
});

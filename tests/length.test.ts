import { join } from "node:path";
import { and, asc, eq } from "drizzle-orm";
import pino from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { closeDatabase, openDatabase } from "../db/client";
import { llmCalls, scenes } from "../db/schema";
import { loadConfig } from "../src/config";
import { LlmClient } from "../src/llm/client";
import { endsWithTerminalPunctuation } from "../src/text/meta";
import { startFakeLlm } from "./fakes/llm-server";
import { eventually, tempDir } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

describe("answers cut off at the output limit", () => {
  it("continues cut-off scenes from their last whole sentence and never sends a request twice", async () => {
    // Room for every planning answer, not for a 1,500-word scene in one go.
    const { fake, engine: e } = await world.start(
      { seed: 21, outputCap: 800 },
      { FOLIO_MAX_OUTPUT_TOKENS: "4096" },
    );
    const id = await e.create({
      premise: "A cartographer's apprentice maps a city that rearranges its streets at dawn.",
      scenes: 3,
      words: 4500,
      autoApprove: true,
    });
    await eventually(() => e.events.some((x) => x.type === "done" && x.projectId === id), 90_000);
    const log = fake.log;
    // Every request says how long its answer may be, never more than the ceiling.
    expect(log.every((entry) => entry.maxTokens !== null && entry.maxTokens <= 4096)).toBe(true);
    const continued = log.filter((entry) => entry.firstLine.startsWith("Your answer stopped"));
    expect(continued.length).toBeGreaterThan(0);
    const prompts = log.map((entry) => `${entry.maxTokens}\n${entry.prompt}`);
    const lengthFinished = log.filter((entry) => entry.outcome === "length");
    expect(lengthFinished.length).toBeGreaterThan(0);
    for (const entry of lengthFinished) {
      const same = prompts.filter((p) => p === `${entry.maxTokens}\n${entry.prompt}`);
      expect(same, `request ${entry.seq} was sent again after it was cut off`).toHaveLength(1);
    }
    const recorded = await e.db
      .select({ outcome: llmCalls.outcome })
      .from(llmCalls)
      .where(and(eq(llmCalls.projectId, id), eq(llmCalls.outcome, "length")));
    expect(recorded.length).toBe(lengthFinished.length);
    const texts = await e.db
      .select({ text: scenes.text, words: scenes.words, target: scenes.targetWords })
      .from(scenes)
      .where(eq(scenes.projectId, id))
      .orderBy(asc(scenes.number));
    for (const scene of texts) {
      expect(endsWithTerminalPunctuation(scene.text!)).toBe(true);
      expect(scene.words).toBeGreaterThanOrEqual(scene.target * 0.6);
    }
  });

  it("asks a cut-off JSON answer again with twice the room, and stops at the ceiling with what to change", async () => {
    const fake = await startFakeLlm({ seed: 4 });
    onTestFinished(() => fake.close());
    const dir = tempDir("folio-length-");
    const config = loadConfig(
      {
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: "test-key",
        FOLIO_DB_PATH: join(dir, "folio.db"),
        FOLIO_MAX_OUTPUT_TOKENS: "1000",
      },
      { dotenv: false },
    );
    const db = openDatabase(config.FOLIO_DB_PATH);
    try {
      const llm = new LlmClient(config, db, pino({ level: "silent" }));
      const List = z.object({
        items: z
          .array(z.object({ name: z.string(), note: z.string() }))
          .min(6)
          .max(6),
      });
      const call = { projectId: null, stage: "test", purpose: "list", role: "plan" as const };
      const { value } = await llm.structured(List, "list", [{ role: "user", content: "List." }], {
        ...call,
        outputTokens: 40,
      });
      expect(value.items).toHaveLength(6);
      const budgets = fake.log.map((entry) => [entry.maxTokens, entry.outcome]);
      expect(budgets[0]).toEqual([114, "length"]);
      expect(budgets.at(-1)![1]).toBe("ok");
      for (let i = 1; i < budgets.length; i++)
        expect(budgets[i]![0]).toBe(Math.min(1000, (budgets[i - 1]![0] as number) * 2));
      // The schema needs more than the ceiling allows: asked at the ceiling once, then a plain answer why.
      fake.log.length = 0;
      const Huge = z.object({
        items: z
          .array(z.object({ name: z.string(), note: z.string() }))
          .min(60)
          .max(60),
      });
      const error = await llm
        .structured(Huge, "huge", [{ role: "user", content: "List more." }], { ...call, outputTokens: 900 })
        .catch((e: unknown) => e);
      expect(String(error)).toContain(
        "The answer for huge needs more than 1000 output tokens: raise FOLIO_MAX_OUTPUT_TOKENS",
      );
      expect(fake.log.map((entry) => entry.maxTokens)).toEqual([1000]);
    } finally {
      await closeDatabase(db);
    }
  });
});

import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { llmCalls } from "../db/schema";
import { promptTokens, promptTokensAtMost, silentlyTruncated } from "../src/llm/context";
import { getProject } from "../src/pipeline/store";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

describe("a server whose context window is smaller than the prompts", () => {
  it("is caught at the first cut prompt and stops the project with the setting that fixes it", async () => {
    // Planning prompts fit, or nearly (a small loss is within what another tokenizer would count);
    // the drafting prompt, with the concept, world, cast and outline first, does not.
    const { fake, engine: e } = await world.start({ seed: 8, contextWindow: 1_500 });
    const id = await e.create({
      premise: "A lock-keeper on a drowned canal keeps the last map of the old town.",
      scenes: 6,
      words: 6000,
      autoApprove: true,
    });
    const attention = await eventually(() =>
      e.events.find((x) => x.type === "needs_attention" && x.projectId === id),
    );
    await eventually(async () => (await getProject(e.db, id))?.leaseOwner === null);
    // The first scene's prompt lost most of its beginning: asked once, reported, not retried.
    // Scene 1's first request is its chapter's beat plan, which opens with the same prefix.
    const drafts = fake.log.filter((entry) => entry.schemaName === "scene_plan");
    expect(drafts).toHaveLength(1);
    expect(drafts[0]!.firstLine).toMatch(/^Plan the beats of scenes? 1/);
    expect(drafts[0]!.promptTokens).toBe(1_500);
    expect(fake.log.at(-1)).toBe(drafts[0]);
    expect(fake.log.some((entry) => entry.firstLine.startsWith("Draft scene"))).toBe(false);
    expect(attention).toMatchObject({ unit: "Scene Drafting, scene 1" });
    const project = (await getProject(e.db, id))!;
    expect(project.status).toBe("needs_attention");
    expect(project.attention).toContain("read only 1500 of the about");
    expect(project.attention).toContain("OLLAMA_CONTEXT_LENGTH");
    expect(project.attention).toContain("a smaller FOLIO_CONTEXT_TOKENS (the server kept 1500 tokens");
    const recorded = await e.db
      .select()
      .from(llmCalls)
      .where(and(eq(llmCalls.projectId, id), eq(llmCalls.outcome, "context_truncated")));
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.sceneNumber).toBe(1);
  });

  it("tells a lost beginning from another tokenizer's count", () => {
    expect(silentlyTruncated(9_000, 2_048)).toBe(true);
    expect(silentlyTruncated(9_000, 8_100)).toBe(false);
    expect(silentlyTruncated(9_000, 10_500)).toBe(false);
    expect(silentlyTruncated(600, 100)).toBe(false);
    expect(silentlyTruncated(9_000, 0)).toBe(false);
  });

  it("bounds a prompt's tokens without counting them, never below the count", () => {
    const texts = [
      "The keeper climbed the stair at dusk.",
      "灯台の光は百年前に沈んだ船を呼んでいた。",
      "🌊🚢🕯️ — “signals”, ‘again’… 1,000 × 3.14",
      "x".repeat(5_000),
    ];
    for (const text of texts) {
      const prompt = [
        { role: "system" as const, content: "You are the novelist." },
        { role: "user" as const, content: text },
      ];
      expect(promptTokensAtMost(prompt)).toBeGreaterThanOrEqual(promptTokens(prompt));
    }
  });
});

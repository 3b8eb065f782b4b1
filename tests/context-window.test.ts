import { join } from "node:path";
import { and, eq, isNotNull } from "drizzle-orm";
import { encode } from "gpt-tokenizer";
import pino from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { closeDatabase, openDatabase } from "../db/client";
import { scenes } from "../db/schema";
import { loadConfig } from "../src/config";
import { LlmClient } from "../src/llm/client";
import { promptTokens } from "../src/llm/context";
import { LlmError } from "../src/llm/errors";
import { outputBudget, tokensForWords } from "../src/llm/length";
import type { Messages } from "../src/llm/types";
import { defaultContextTokens, windowMargin } from "../src/llm/window";
import { getProject, loadPlan } from "../src/pipeline/store";
import type { SceneContext } from "../stages/definition";
import { DRAFT_SHAPES, draftPrompts, stablePrefix } from "../stages/draft";
import { need, type Plan } from "../stages/types";
import type { FakeLlm } from "./fakes/llm-server";
import { eventually, tempDir } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

const WINDOW = 8_192;
const NOVEL = {
  premise: "A lock-keeper on a drowned canal keeps the last map of the old town.",
  scenes: 50,
  words: 30_000,
  autoApprove: true,
};

/** What the fake was really sent: its own count stops at its window. */
const sentTokens = (entry: FakeLlm["log"][number]) => encode(entry.prompt).length;

describe("a model with an 8,192-token context window", () => {
  it("writes a 50-scene novel to the end with every prompt inside the window when FOLIO_CONTEXT_TOKENS says so", async () => {
    const { fake, engine: e } = await world.start(
      { seed: 5, contextWindow: WINDOW },
      { FOLIO_CONTEXT_TOKENS: String(WINDOW) },
    );
    const id = await e.create(NOVEL);
    await eventually(
      () => e.events.find((x) => (x.type === "done" || x.type === "needs_attention") && x.projectId === id),
      240_000,
    );
    const project = (await getProject(e.db, id))!;
    expect(project.attention).toBeNull();
    expect(project.status).toBe("done");
    expect(e.delivered.has(id)).toBe(true);
    const written = await e.db
      .select({ number: scenes.number })
      .from(scenes)
      .where(and(eq(scenes.projectId, id), isNotNull(scenes.text)));
    expect(written).toHaveLength(50);

    // Nothing was cut by the server: every prompt is inside the window, as sent and as read.
    expect(fake.log.length).toBeGreaterThan(300);
    for (const entry of fake.log) {
      expect(sentTokens(entry), `request ${entry.seq}: ${entry.firstLine}`).toBeLessThan(WINDOW);
      expect(entry.promptTokens).toBe(sentTokens(entry));
    }
    // With room for the answer too: the outline is planned in parts, each part's answer a few cards.
    for (const entry of fake.log) {
      expect(sentTokens(entry) + (entry.maxTokens ?? 0), `request ${entry.seq}`).toBeLessThanOrEqual(WINDOW);
    }
    // Drafts and rewrites carry the book as a chapter map, one line per chapter.
    const drafts = fake.log.filter((x) => x.firstLine.startsWith("Draft scene"));
    const rewrites = fake.log.filter((x) => x.firstLine.startsWith("Revise scene"));
    expect(drafts).toHaveLength(50);
    expect(rewrites.length).toBeGreaterThan(50);
    for (const entry of [...drafts, ...rewrites])
      expect(entry.prompt).toMatch(/^- Chapter \d+: .* \(scenes? \d/m);
  }, 300_000);

  it("without FOLIO_CONTEXT_TOKENS, stops at the first prompt the server cut, with the sentence that names the fix", async () => {
    // Ollama's old default window. The drafting prompt carries a chapter map rather than the whole
    // outline, so the largest prompts of a book are its outline's parts: the cut comes there.
    const SMALL = 2_048;
    const { fake, engine: e } = await world.start({ seed: 5, contextWindow: SMALL });
    const id = await e.create(NOVEL);
    const attention = await eventually(
      () => e.events.find((x) => x.type === "needs_attention" && x.projectId === id),
      120_000,
    );
    await eventually(async () => (await getProject(e.db, id))?.leaseOwner === null);
    expect(attention).toMatchObject({ unit: "Master Outline" });
    // The cut prompt was asked once and is the last request; the ones before it lost nothing, or less
    // than another tokenizer's count could explain.
    const cut = fake.log.at(-1)!;
    expect(cut.schemaName).toBe("outline_scenes");
    expect(cut.promptTokens).toBe(SMALL);
    expect(sentTokens(cut)).toBeGreaterThan(SMALL / 0.85);
    for (const entry of fake.log.slice(0, -1))
      expect(entry.promptTokens).toBeGreaterThanOrEqual(0.85 * sentTokens(entry));
    expect(fake.log.filter((x) => x.prompt === cut.prompt)).toHaveLength(1);
    const project = (await getProject(e.db, id))!;
    expect(project.status).toBe("needs_attention");
    expect(project.attention).toContain(`read only ${SMALL} of the about`);
    expect(project.attention).toContain("OLLAMA_CONTEXT_LENGTH=32768");
    expect(project.attention).toContain(
      `fit this window with a smaller FOLIO_CONTEXT_TOKENS (the server kept ${SMALL} tokens of this prompt)`,
    );
  }, 180_000);
});

describe("a drafting prompt that does not fit the window", () => {
  /** A planned 30-scene book and the context of its scene 28, with long summaries of every chapter before. */
  async function lateScene(): Promise<{ plan: Plan; prefix: string; context: SceneContext }> {
    const { engine: e } = await world.start({ seed: 12 });
    const id = await e.create({ ...NOVEL, scenes: 30, words: 24_000, autoApprove: false });
    await eventually(async () => (await getProject(e.db, id))?.status === "waiting", 60_000);
    const plan = await loadPlan(e.db, id);
    const outline = need(plan, "outline");
    const scene = outline.scenes.find((s) => s.number === 28)!;
    const summary = (n: number) =>
      `Chapter ${n} opens at the lock. ${"The water rises and the map changes hands again. ".repeat(6)}`;
    const tail = Array.from({ length: 80 }, (_, i) => `The gate swung ${i} times.`).join(" ");
    const earlierChapters = outline.chapters
      .filter((ch) => ch.number < scene.chapter)
      .map((ch) => ({ number: ch.number, title: ch.title, summary: summary(ch.number) }));
    const scenesBefore = (n: number) =>
      outline.scenes
        .filter((s) => s.chapter === scene.chapter && s.number < n)
        .map((s) => ({ number: s.number, title: s.title, summary: s.summary }));
    return {
      plan,
      prefix: stablePrefix(plan, (await getProject(e.db, id))!),
      context: {
        scene,
        previousScene: outline.scenes.find((s) => s.number === 27),
        nextScene: outline.scenes.find((s) => s.number === 29),
        sceneCount: 30,
        chapterCount: outline.chapters.length,
        chapterTitle: outline.chapters[scene.chapter - 1]!.title,
        earlierChapters,
        chapterScenes: scenesBefore(28),
        previousTail: tail,
        previousWhole: {
          text: `The lock-keeper opened the ledger at dawn. ${"The rain kept on. ".repeat(200)}${tail}`,
          storyBefore: { earlierChapters, chapterScenes: scenesBefore(27) },
        },
      },
    };
  }

  function clientWith(window?: number): LlmClient {
    const dir = tempDir("folio-window-");
    const config = loadConfig(
      {
        OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
        FOLIO_DB_PATH: join(dir, "folio.db"),
        ...(window === undefined ? {} : { FOLIO_CONTEXT_TOKENS: String(window) }),
      },
      { dotenv: false },
    );
    const db = openDatabase(config.FOLIO_DB_PATH);
    onTestFinished(() => closeDatabase(db));
    return new LlmClient(config, db, pino({ level: "silent" }));
  }

  const opts = (context: SceneContext) => ({
    projectId: null,
    stage: "drafting",
    purpose: "scene",
    role: "draft" as const,
    expectedWords: context.scene.targetWords,
  });
  const system = (m: Messages) => String(m[0]!.content);
  const user = (m: Messages) =>
    m
      .slice(1)
      .map((x) => String(x.content))
      .join("\n\n");

  it("is sent as it is when it fits, opening with the cached prefix byte for byte", async () => {
    const { prefix, context } = await lateScene();
    const chosen = clientWith().firstThatFits(draftPrompts(prefix, context), opts(context));
    expect(system(chosen)).toBe(prefix);
    expect(user(chosen)).toContain("The scene after this one");
    expect(user(chosen)).toContain(context.earlierChapters[0]!.summary);
  });

  it("merges earlier chapter summaries first, then leaves them to the chapter map, then drops the neighbouring cards", async () => {
    const { prefix, context } = await lateScene();
    const shapes = [...draftPrompts(prefix, context)];
    expect(shapes).toHaveLength(DRAFT_SHAPES.length);
    const [previousWhole, whole, merged, mapped, noNeighbours] = shapes as [
      Messages,
      Messages,
      Messages,
      Messages,
      Messages,
    ];
    // The prefix is the same in every shape: the cache serves it whatever the window.
    for (const shape of shapes) expect(system(shape)).toBe(prefix);
    // 0. The previous scene whole, under its card, after the story as it stood before it; then only its last words.
    expect(user(previousWhole)).toContain(`Scene 27 of 30 as written, under its card:\n### Scene 27:`);
    expect(user(previousWhole)).toContain("The lock-keeper opened the ledger at dawn.");
    expect(user(previousWhole)).not.toContain("The previous scene ends with these words");
    expect(user(whole)).not.toContain("The lock-keeper opened the ledger at dawn.");
    expect(user(whole)).toContain("The previous scene ends with these words");
    // 1. The story so far: older chapters merged into their first sentences, the latest kept whole.
    const latest = context.earlierChapters.at(-1)!;
    expect(user(whole)).toContain(context.earlierChapters[0]!.summary);
    expect(user(merged)).toContain(`Chapters 1–${latest.number - 1}, in brief: Chapter 1 opens at the lock.`);
    expect(user(merged)).not.toContain(context.earlierChapters[0]!.summary);
    expect(user(merged)).toContain(`Chapter ${latest.number}, ${latest.title}: ${latest.summary}`);
    // 2. Older chapters left to the chapter map.
    expect(user(mapped)).not.toContain("in brief");
    expect(user(mapped)).toContain(`Chapters 1–${latest.number - 1}: see the chapter map above.`);
    expect(user(mapped)).toContain(`Chapter ${latest.number}, ${latest.title}: ${latest.summary}`);
    // 3. The neighbouring cards dropped, the previous scene's tail shortened.
    expect(user(mapped)).toContain("The scene after this one");
    expect(user(mapped)).toContain("The previous scene's card");
    expect(user(noNeighbours)).not.toContain("The scene after this one");
    expect(user(noNeighbours)).not.toContain("The previous scene's card");
    expect(user(noNeighbours)).toContain("The gate swung 79 times.");
    expect(user(noNeighbours)).not.toContain("The gate swung 20 times.");
    // This scene's card is in every shape.
    for (const shape of shapes) expect(user(shape)).toContain(`### Scene 28: ${context.scene.title}`);

    // Each shape is smaller than the one before, and the client takes the first that fits.
    const sizes = shapes.map(promptTokens);
    for (let k = 1; k < sizes.length; k++) expect(sizes[k]).toBeLessThan(sizes[k - 1]!);
    const answer = outputBudget(tokensForWords(context.scene.targetWords), 16_384);
    for (let k = 1; k < shapes.length; k++) {
      let window = sizes[k]! + answer;
      while (window - windowMargin(window) < sizes[k]! + answer) window++;
      const chosen = clientWith(window).firstThatFits(draftPrompts(prefix, context), opts(context));
      expect(chosen, `window ${window}`).toEqual(shapes[k]);
    }
  });

  it("stops the project, naming the window and FOLIO_CONTEXT_TOKENS, when even the smallest shape does not fit", async () => {
    const { prefix, context } = await lateScene();
    const attempt = () => clientWith(2_048).firstThatFits(draftPrompts(prefix, context), opts(context));
    expect(attempt).toThrow(LlmError);
    try {
      attempt();
    } catch (error) {
      expect((error as LlmError).fatal).toBe(true);
      expect((error as LlmError).message).toContain("does not fit the model's context window of 2048 tokens");
      expect((error as LlmError).message).toContain("even with the story around it shortened");
      expect((error as LlmError).message).toContain("raise FOLIO_CONTEXT_TOKENS");
    }
  });
});

describe("the context window", () => {
  it("defaults to what the model's family is known to have", () => {
    expect(defaultContextTokens("gpt-4.1-mini")).toBe(1_047_576);
    expect(defaultContextTokens("gpt-5-mini")).toBe(400_000);
    expect(defaultContextTokens("gpt-4o-mini")).toBe(128_000);
    expect(defaultContextTokens("o3-mini")).toBe(200_000);
    expect(defaultContextTokens("llama3.1:8b")).toBe(131_072);
    expect(defaultContextTokens("meta-llama/llama-3.3-70b-instruct")).toBe(131_072);
    expect(defaultContextTokens("llama3:8b")).toBe(8_192);
    expect(defaultContextTokens("qwen2.5:14b")).toBe(32_768);
    expect(defaultContextTokens("mistral:7b")).toBe(32_768);
    expect(defaultContextTokens("gemma2:9b")).toBe(8_192);
    expect(defaultContextTokens("fake-model")).toBe(128_000);
  });

  it("never sends a prompt larger than the window: the call stops at once, naming the setting", async () => {
    const { fake, engine: e } = await world.start({ seed: 3 }, { FOLIO_CONTEXT_TOKENS: "2048" });
    const long = "The canal rose over the old town's streets and nobody spoke of it. ".repeat(200);
    const call = e.llm.prose([{ role: "user", content: long }], {
      projectId: null,
      stage: "test",
      purpose: "test",
      role: "edit",
    });
    await expect(call).rejects.toMatchObject({
      fatal: true,
      message: expect.stringContaining("context window of 2048 tokens (FOLIO_CONTEXT_TOKENS)"),
    });
    expect(fake.log).toHaveLength(0);
  });
});

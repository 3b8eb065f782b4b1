import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { llmCalls } from "../db/schema";
import type { LlmClient } from "../src/llm/client";
import { LlmError } from "../src/llm/errors";
import { approve } from "../src/pipeline/actions";
import { getProject } from "../src/pipeline/store";
import { countWords } from "../src/text/words";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

/** One 1,500-word scene asked of the engine's own model client, as the drafting stage asks it. */
function askScene(llm: LlmClient, onWords?: (words: number) => void) {
  return llm.prose(
    [
      { role: "system", content: "You are the novelist." },
      { role: "user", content: 'Draft scene 1 of 1: "The Lock"\n\nTarget length: about 1500 words.' },
    ],
    {
      projectId: null,
      stage: "drafting",
      purpose: "scene",
      role: "draft",
      expectedWords: 1500,
      onWords,
    },
  );
}

describe("streamed answers from a slow model", () => {
  it("are not timed out while tokens keep coming, however long the whole answer takes", async () => {
    // A laptop model's pace, scaled down: a pause of 300 ms every 100 tokens, an idle timeout of 1 s,
    // so 1,500 words take several idle timeouts in all.
    const { fake, engine } = await world.start(
      { seed: 21, stream: { tokensPerChunk: 4, pauseEveryTokens: 100, pauseMs: 300 } },
      { FOLIO_LLM_IDLE_TIMEOUT_MS: "1000", FOLIO_LLM_TIMEOUT_MS: "20000" },
    );
    const live: number[] = [];
    const started = Date.now();
    const { value } = await askScene(engine.llm, (words) => live.push(words));
    expect(Date.now() - started).toBeGreaterThan(1000 * 3);
    expect(countWords(value)).toBe(1500);
    expect(fake.log).toHaveLength(1);
    expect(fake.log[0]).toMatchObject({ outcome: "ok", params: { stream: true } });
    // The words arrived while the answer streamed, growing, before the whole scene was there.
    expect(live.length).toBeGreaterThan(3);
    expect(live).toEqual([...live].sort((a, b) => a - b));
    expect(live[0]!).toBeLessThan(1500);
    const [row] = await engine.db.select().from(llmCalls);
    expect(row).toMatchObject({ outcome: "ok", completionTokens: fake.log[0]!.completionTokens });
  }, 60_000);

  it("time out when the endpoint goes silent mid-answer, and the call is not sent again by the client", async () => {
    const { fake, engine } = await world.start(
      { seed: 22, faults: { rateStall: 1 } },
      { FOLIO_LLM_IDLE_TIMEOUT_MS: "400", FOLIO_LLM_MAX_RETRIES: "4" },
    );
    const error = await askScene(engine.llm).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).message).toMatch(/sent nothing for 0.4 s \(FOLIO_LLM_IDLE_TIMEOUT_MS\)/);
    expect((error as LlmError).fatal).toBe(false);
    expect(fake.log.map((e) => e.outcome)).toEqual(["stall"]);
    await eventually(() => fake.inFlight() === 0);
    expect((await engine.db.select().from(llmCalls)).map((r) => r.outcome)).toEqual(["timeout"]);
  });

  it("show the scene in flight on the progress events while it is written", async () => {
    const { engine } = await world.start(
      { seed: 23, stream: { tokensPerChunk: 4, pauseEveryTokens: 60, pauseMs: 150 } },
      { FOLIO_LLM_IDLE_TIMEOUT_MS: "2000" },
    );
    const id = await engine.create({
      premise: "A bell-founder casts a bell that rings only for liars.",
      scenes: 3,
      words: 2400,
    });
    await eventually(async () => (await getProject(engine.db, id))?.status === "waiting", 60_000);
    expect((await getProject(engine.db, id))!.stage).toBe("outline_gate");
    await approve(engine.db, id);
    engine.scheduler.wake();
    await eventually(() => engine.events.some((e) => e.type === "scene_drafted" && e.scene === 2), 60_000);
    const writing = engine.events.filter((e) => e.type === "scene_writing");
    const forScene1 = writing.filter((e) => e.progress.writing?.scene === 1);
    expect(forScene1.length).toBeGreaterThan(1);
    const drafted1 = engine.events.findIndex((e) => e.type === "scene_drafted" && e.scene === 1);
    // Scene 1's words were shown while it was written, before it was saved.
    expect(engine.events.indexOf(forScene1[0]!)).toBeLessThan(drafted1);
    expect(forScene1.at(-1)!.progress.writing!.words).toBeGreaterThan(forScene1[0]!.progress.writing!.words);
    expect(forScene1.every((e) => e.progress.scenesDone === 0)).toBe(true);
  }, 90_000);
});

describe("a hanging endpoint", () => {
  it("reaches needs-attention within FOLIO_UNIT_ATTEMPTS × the idle timeout plus the unit back-offs", async () => {
    const idle = 500;
    const { fake, engine } = await world.start(
      { seed: 24, faults: { rateHang: 1 } },
      { FOLIO_LLM_IDLE_TIMEOUT_MS: String(idle), FOLIO_UNIT_ATTEMPTS: "3", FOLIO_LLM_MAX_RETRIES: "4" },
    );
    const started = Date.now();
    const id = await engine.create({
      premise: "A cartographer maps a city that rearranges itself at night.",
      scenes: 3,
      words: 3000,
      autoApprove: true,
    });
    const attention = await eventually(
      () => engine.events.find((e) => e.type === "needs_attention" && e.projectId === id),
      30_000,
      20,
    );
    const took = Date.now() - started;
    // The documented bound: 3 attempts × 500 ms + back-offs of 20 ms and 40 ms (the test scheduler's).
    const bound = 3 * idle + 20 + 40;
    expect(took).toBeGreaterThanOrEqual(3 * idle);
    // Scheduling slack on a shared machine: polling, the database, the model client — not a fourth try.
    expect(took).toBeLessThan(bound + idle);
    expect(fake.log.map((e) => e.outcome)).toEqual(["hang", "hang", "hang"]);
    expect(attention).toMatchObject({ unit: "High Concept" });
    expect((await getProject(engine.db, id))!.attention).toContain("sent nothing for 0.5 s");
    const rows = await engine.db.select().from(llmCalls).where(eq(llmCalls.projectId, id));
    expect(rows.map((r) => r.outcome)).toEqual(["timeout", "timeout", "timeout"]);
  });
});

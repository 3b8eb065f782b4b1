import { and, asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { llmCalls } from "../db/schema";
import { ConfigError, loadConfig } from "../src/config";
import type { FakeLlmOptions } from "./fakes/llm-server";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

const PREMISE = "A bell-founder's daughter casts a bell that rings only when someone lies.";

async function novel(env: Record<string, string>, faults = {}, server: Partial<FakeLlmOptions> = {}) {
  const { fake, engine: e } = await world.start({ seed: 9, faults, ...server }, env);
  const id = await e.create({ premise: PREMISE, scenes: 3, words: 3000, autoApprove: true });
  await eventually(() => e.events.some((x) => x.type === "done" && x.projectId === id), 90_000);
  return { id, e, log: fake.log };
}

describe("servers without json_schema (FOLIO_STRUCTURED=json_object)", () => {
  it("puts the schema in the prompt and repairs an answer that misses a field in one round", async () => {
    const { id, e, log } = await novel({ FOLIO_STRUCTURED: "json_object" }, { rateSchemaMismatch: 1 });
    const structured = log.filter((entry) => entry.kind === "structured");
    expect(structured.length).toBeGreaterThan(0);
    for (const entry of structured) {
      expect(entry.params.response_format).toEqual({ type: "json_object" });
      expect(entry.prompt).toContain("that matches this JSON Schema:");
    }
    const outcomes = await e.db
      .select({ outcome: llmCalls.outcome, purpose: llmCalls.purpose })
      .from(llmCalls)
      .where(and(eq(llmCalls.projectId, id)))
      .orderBy(asc(llmCalls.id));
    const mismatches = outcomes.filter((o) => o.outcome === "schema_mismatch");
    // Every first answer missed a field; every repair round was the one more request it took.
    expect(mismatches.length).toBe(structured.length / 2);
    expect(log.filter((entry) => entry.prompt.includes("does not match the schema")).length).toBe(
      mismatches.length,
    );
  });
});

describe("provider options", () => {
  it("merges FOLIO_EXTRA_BODY into every request and sends reasoning_effort only when set", async () => {
    const { log } = await novel({
      FOLIO_EXTRA_BODY: '{"provider":{"require_parameters":true}}',
      FOLIO_REASONING_EFFORT: "low",
    });
    for (const entry of log) {
      expect(entry.params).toMatchObject({ provider: { require_parameters: true }, reasoning_effort: "low" });
      expect(entry.params).not.toHaveProperty("temperature");
      expect(entry.params).not.toHaveProperty("max_tokens");
      expect(entry.params.max_completion_tokens).toEqual(expect.any(Number));
      // Every answer streams, with its usage in the last chunk.
      expect(entry.params).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    }
    const plain = await novel({});
    for (const entry of plain.log) {
      expect(Object.keys(entry.params).sort()).toEqual(
        entry.kind === "structured"
          ? ["max_completion_tokens", "model", "response_format", "stream", "stream_options"]
          : ["max_completion_tokens", "model", "stream", "stream_options"],
      );
    }
  });

  it("sends the output limit as max_tokens to servers that read only that (FOLIO_OUTPUT_LIMIT_FIELD)", async () => {
    // Like Ollama's /v1: max_completion_tokens is ignored, so an answer that rambles is never cut.
    const ollama = { reads: "max_tokens" as const };
    const ignored = await novel({}, { rateRunaway: 0.5 }, ollama);
    for (const entry of ignored.log) expect(entry.maxTokens).toBeNull();
    expect(ignored.log.some((e) => e.outcome === "length")).toBe(false);
    const read = await novel({ FOLIO_OUTPUT_LIMIT_FIELD: "max_tokens" }, { rateRunaway: 0.5 }, ollama);
    for (const entry of read.log) {
      expect(entry.params).not.toHaveProperty("max_completion_tokens");
      expect(entry.params.max_tokens).toEqual(expect.any(Number));
      expect(entry.maxTokens).toBe(entry.params.max_tokens);
    }
    // The rambling answers now stop at their limit and are continued, as against OpenAI.
    expect(read.log.some((e) => e.kind === "prose" && e.outcome === "length")).toBe(true);
  });

  it("refuses settings it cannot use, in one line", () => {
    const load = (env: Record<string, string>) => () =>
      loadConfig({ OPENAI_API_KEY: "k", ...env }, { dotenv: false });
    expect(load({ FOLIO_EXTRA_BODY: "[1, 2]" })).toThrow(ConfigError);
    expect(load({ FOLIO_EXTRA_BODY: "{not json" })).toThrow(
      /^Configuration error: FOLIO_EXTRA_BODY is "\{not json": must be a JSON object/,
    );
    expect(load({ FOLIO_STRUCTURED: "xml" })).toThrow(/FOLIO_STRUCTURED is "xml"/);
    expect(load({ FOLIO_REASONING_EFFORT: "extreme" })).toThrow(/FOLIO_REASONING_EFFORT is "extreme"/);
    expect(load({ FOLIO_OUTPUT_LIMIT_FIELD: "num_predict" })).toThrow(
      /FOLIO_OUTPUT_LIMIT_FIELD is "num_predict"/,
    );
    expect(load({ FOLIO_EXTRA_BODY: "" })().FOLIO_EXTRA_BODY).toEqual({});
  });
});

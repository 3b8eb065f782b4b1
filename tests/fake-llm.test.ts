/**
 * Over 300 lines: one test per fault and behaviour the fake model can show, so a gap shows by name.
 *
 * The fake LLM server, exercised through the real `openai` client over HTTP, the same way the app uses it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import OpenAI, { APIConnectionTimeoutError, APIError } from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { type FakeLlm, type FakeLlmOptions, startFakeLlm } from "./fakes/llm-server";
import { failure } from "./helpers/cli";

const KEY = "test-key";
const running: FakeLlm[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.close()));
});

async function start(opts: FakeLlmOptions = {}): Promise<FakeLlm> {
  // These tests exercise the fake's schema filling beyond strict mode's keywords (minLength, open
  // ranges); its strict-mode refusals are tested in strict-schema.test.ts.
  const fake = await startFakeLlm({ seed: 7, strictSchemas: false, ...opts });
  running.push(fake);
  return fake;
}

function clientFor(fake: FakeLlm, extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): OpenAI {
  return new OpenAI({ baseURL: fake.url, apiKey: KEY, maxRetries: 0, ...extra });
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

async function prose(client: OpenAI, user: string, system = "You write novels.") {
  return client.chat.completions.create({
    model: "fake-model",
    messages: [
      { role: "system", content: system },
      { role: "user", content: user },
    ],
  });
}

// A hand-written schema with $defs/$ref, the shape OpenAI strict mode expects.
const castSchema = {
  type: "object",
  additionalProperties: false,
  required: ["title", "genre", "characters", "chapters", "setting"],
  properties: {
    title: { type: "string" },
    genre: { type: "string", enum: ["mystery", "romance", "fantasy"] },
    characters: { type: "array", minItems: 5, maxItems: 5, items: { $ref: "#/$defs/character" } },
    chapters: { type: "array", items: { $ref: "#/definitions/chapter" } },
    setting: {
      type: "object",
      additionalProperties: false,
      required: ["place", "year", "mood"],
      properties: {
        place: { type: "string", minLength: 20, maxLength: 40 },
        year: { type: "integer", minimum: 1850, maximum: 1900 },
        mood: { type: ["string", "null"] },
      },
    },
  },
  $defs: {
    character: {
      type: "object",
      additionalProperties: false,
      required: ["name", "role", "age", "fatherName", "secret"],
      properties: {
        name: { type: "string" },
        role: { type: "string", enum: ["protagonist", "antagonist", "ally"] },
        age: { type: "integer", minimum: 18, maximum: 80 },
        fatherName: { type: "string" },
        secret: { anyOf: [{ type: "null" }, { type: "string" }] },
      },
    },
  },
  definitions: {
    chapter: {
      type: "object",
      additionalProperties: false,
      required: ["number", "summary", "tension", "twist"],
      properties: {
        number: { type: "integer", exclusiveMinimum: 0, exclusiveMaximum: 4 },
        summary: { type: "string" },
        tension: { type: "number", minimum: 0, maximum: 1 },
        twist: { type: "boolean" },
      },
    },
  },
};

const Cast = z.object({
  title: z.string(),
  genre: z.enum(["mystery", "romance", "fantasy"]),
  characters: z
    .array(
      z.object({
        name: z.string(),
        role: z.enum(["protagonist", "antagonist", "ally"]),
        age: z.int().min(18).max(80),
        fatherName: z.string(),
        secret: z.string().nullable(),
      }),
    )
    .length(5),
  chapters: z
    .array(
      z.object({
        number: z.int().min(1).max(3),
        summary: z.string(),
        tension: z.number().min(0).max(1),
        twist: z.boolean(),
      }),
    )
    .length(3),
  setting: z.object({
    place: z.string().min(20).max(40),
    year: z.int().min(1850).max(1900),
    mood: z.string(),
  }),
});

async function castCall(client: OpenAI) {
  return client.chat.completions.create({
    model: "fake-model",
    messages: [{ role: "user", content: "Invent the cast.\nMore detail here." }],
    response_format: { type: "json_schema", json_schema: { name: "cast", strict: true, schema: castSchema } },
  });
}

describe("structured answers", () => {
  it("fills a json_schema with $refs, nested objects, fixed-length arrays, enums and ranges", async () => {
    const fake = await start();
    const completion = await castCall(clientFor(fake));
    const cast = Cast.parse(JSON.parse(completion.choices[0]!.message.content!));

    expect(new Set(cast.characters.map((c) => c.name)).size).toBe(5);
    for (const c of cast.characters) expect(c.name).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
    expect(cast.title).toMatch(/^([A-Z][a-z]+ ?){2,4}$/);
    expect(cast.chapters[0]!.summary).toMatch(/^[A-Z].*\.$/);
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.object).toBe("chat.completion");
    expect(fake.log[0]).toMatchObject({
      kind: "structured",
      schemaName: "cast",
      outcome: "ok",
      firstLine: "Invent the cast.",
    });
  });

  it("answers a schema made by the app's own helper, zodResponseFormat", async () => {
    const Plan = z.object({
      scenes: z.array(
        z.object({ povName: z.string(), beats: z.array(z.string()).min(2), weight: z.number().positive() }),
      ),
      note: z.string().nullable(),
      tag: z.literal("plan"),
    });
    const fake = await start();
    const completion = await clientFor(fake).chat.completions.create({
      model: "fake-model",
      messages: [{ role: "user", content: "Plan the scenes." }],
      response_format: zodResponseFormat(Plan, "plan"),
    });
    const plan = Plan.parse(JSON.parse(completion.choices[0]!.message.content!));
    expect(plan.scenes).toHaveLength(3);
    expect(plan.scenes[0]!.beats).toHaveLength(2);
  });

  it("gives the same answers for the same seed and request order", async () => {
    const contents = [];
    for (let run = 0; run < 2; run++) {
      const client = clientFor(await start({ seed: 42 }));
      contents.push((await castCall(client)).choices[0]!.message.content);
      contents.push((await prose(client, "Write.")).choices[0]!.message.content);
    }
    expect(contents[2]).toBe(contents[0]);
    expect(contents[3]).toBe(contents[1]);
  });
});

describe("prose answers", () => {
  it("writes the requested length in paragraphs, ending on terminal punctuation", async () => {
    const fake = await start();
    const completion = await prose(clientFor(fake), "Write scene 3.\nTarget length: about 800 words.");
    const text = completion.choices[0]!.message.content!;
    expect(words(text)).toBeGreaterThanOrEqual(776);
    expect(words(text)).toBeLessThanOrEqual(824);
    expect(text).toMatch(/[.!?]["”]?$/);
    expect(text).not.toContain("—");
    const paragraphs = text.split("\n\n");
    expect(paragraphs.length).toBeGreaterThanOrEqual(6);
    for (const p of paragraphs) expect(words(p)).toBeGreaterThanOrEqual(60);
    expect(text).toMatch(/"[A-Z][^"]+[,?]" [A-Z][a-z]+ (said|asked)\./);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(800);
    expect(fake.log[0]).toMatchObject({ kind: "prose", schemaName: null, outcome: "ok" });
  });

  it("defaults to about 250 words and reads comma-separated targets", async () => {
    const client = clientFor(await start());
    const plain = (await prose(client, "Write something.")).choices[0]!.message.content!;
    expect(words(plain)).toBe(250);
    const big = (await prose(client, "Target length: about 1,500 words")).choices[0]!.message.content!;
    expect(words(big)).toBe(1500);
  });
});

describe("usage", () => {
  it("counts prompt tokens and reports cached tokens for a shared prefix of 6000 characters", async () => {
    const fake = await start();
    const client = clientFor(fake);
    const prefix = "The ledger of the salt harbor, page by page, with every ship and cargo listed. ".repeat(
      80,
    );
    expect(prefix.length).toBeGreaterThanOrEqual(6000);
    const first = await prose(client, "Scene one.", prefix);
    const second = await prose(client, "Scene two, a different tail.", prefix);
    expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
    expect(cached).toBeGreaterThan(1024);
    expect(cached % 128).toBe(0);
    expect(cached).toBeLessThanOrEqual(second.usage!.prompt_tokens);
    expect(second.usage!.total_tokens).toBe(second.usage!.prompt_tokens + second.usage!.completion_tokens);
    expect(fake.log[1]!.cachedTokens).toBe(cached);
    expect(fake.log[1]!.prompt).toBe(`${prefix}\nScene two, a different tail.`);
  });

  it("does not share the cache between models", async () => {
    const client = clientFor(await start());
    const system = "x".repeat(8000);
    await prose(client, "a", system);
    const other = await client.chat.completions.create({
      model: "another-model",
      messages: [{ role: "system", content: system }],
    });
    expect(other.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
  });
});

describe("faults", () => {
  it("answers 500 with an OpenAI error body", async () => {
    const fake = await start({ faults: { rate500: 1 } });
    const error = await failure(prose(clientFor(fake), "Write."));
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(500);
    expect(fake.log[0]!.outcome).toBe("500");
  });

  it("answers 429 with retry-after headers", async () => {
    const fake = await start({ faults: { rate429: 1, retryAfterSeconds: 2 } });
    const error = (await failure(prose(clientFor(fake), "Write."))) as APIError;
    expect(error.status).toBe(429);
    expect(error.headers?.get("retry-after")).toBe("2");
    expect(error.headers?.get("retry-after-ms")).toBe("2000");
    expect(fake.log[0]!.outcome).toBe("429");
  });

  it("makes the SDK wait retry-after-ms before retrying a 429", async () => {
    const fake = await start({ faults: { rate429: 1, retryAfterSeconds: 0.3 } });
    const client = clientFor(fake, { maxRetries: 1 });
    const call = prose(client, "Write.");
    // The first attempt is already decided; clear the fault so the retry goes through.
    await until(() => fake.log.length === 1);
    fake.setFaults({});
    await expect(call).resolves.toBeTruthy();
    expect(fake.log.map((e) => e.outcome)).toEqual(["429", "ok"]);
  });

  it("hangs until the client times out, then forgets the request", async () => {
    const fake = await start({ faults: { rateHang: 1 } });
    const error = await failure(prose(clientFor(fake, { timeout: 300 }), "Write."));
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
    expect(fake.log[0]!.outcome).toBe("hang");
    await until(() => fake.inFlight() === 0);
  });

  it("truncates structured answers so they no longer parse", async () => {
    const fake = await start({ faults: { rateTruncatedJson: 1 } });
    const completion = await castCall(clientFor(fake));
    expect(() => JSON.parse(completion.choices[0]!.message.content!)).toThrow();
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(fake.log[0]!.outcome).toBe("truncated");
  });

  it("writes short prose", async () => {
    const fake = await start({ faults: { rateShortProse: 1, rateTruncatedJson: 1 } });
    const completion = await prose(clientFor(fake), "Target length: about 1000 words.");
    expect(words(completion.choices[0]!.message.content!)).toBeLessThan(400);
    expect(fake.log[0]!.outcome).toBe("short");
  });

  it("always fails requests whose prompt contains a marker, and only those", async () => {
    const fake = await start({ faults: { failWhenPromptIncludes: ["SCENE 13"] } });
    const client = clientFor(fake);
    const error = await failure(prose(client, "Draft SCENE 13 now."));
    expect((error as APIError).status).toBe(500);
    await expect(prose(client, "Draft SCENE 12 now.")).resolves.toBeTruthy();
  });

  it("rejects a wrong or missing API key with 401 and logs it", async () => {
    const fake = await start({ apiKey: "right" });
    const error = (await failure(prose(clientFor(fake, { apiKey: "wrong" }), "Write."))) as APIError;
    expect(error.status).toBe(401);
    expect(error.code).toBe("invalid_api_key");
    expect(fake.log[0]!.outcome).toBe("401");
    const missing = await fetch(`${fake.url}/chat/completions`, { method: "POST", body: "{}" });
    expect(missing.status).toBe(401);
    await expect(prose(clientFor(fake, { apiKey: "right" }), "Write.")).resolves.toBeTruthy();
  });

  it("draws faults from the seeded stream: same seed, same pattern", async () => {
    const patterns = [];
    for (let run = 0; run < 2; run++) {
      const fake = await start({ seed: 3, faults: { rate500: 0.5 } });
      const client = clientFor(fake);
      for (let i = 0; i < 12; i++) await prose(client, "Write.").catch(() => undefined);
      patterns.push(fake.log.map((e) => e.outcome).join(","));
    }
    expect(patterns[0]).toBe(patterns[1]);
    expect(patterns[0]).toContain("500");
    expect(patterns[0]).toContain("ok");
  });
});

describe("server behaviour", () => {
  it("waits the latency, counts requests in flight, and stops when the client aborts", async () => {
    const fake = await start({ latencyMs: 400 });
    const client = clientFor(fake);
    const controller = new AbortController();
    const call = prose(client, "Write.").then(
      () => undefined,
      () => undefined,
    );
    const aborted = client.chat.completions
      .create({ model: "m", messages: [{ role: "user", content: "x" }] }, { signal: controller.signal })
      .catch((e: unknown) => e);
    await until(() => fake.inFlight() === 2);
    controller.abort();
    await aborted;
    await until(() => fake.inFlight() === 1);
    await call;
    expect(fake.inFlight()).toBe(0);
    expect(fake.log.map((e) => e.outcome)).toEqual(["ok", "ok"]);
    expect(fake.log.find((e) => e.model === "fake-model")!.durationMs).toBeGreaterThanOrEqual(390);
    fake.setLatency(0);
    await prose(client, "Fast.");
    expect(fake.log[2]!.durationMs).toBeLessThan(390);
  });

  it("lists its model and streams an answer with its usage in the last chunk", async () => {
    const fake = await start({ stream: { tokensPerChunk: 5 } });
    const client = clientFor(fake);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["fake-model"]);
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "Write a scene.\nTarget length: about 120 words." }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let chunks = 0;
    let finish: string | null = null;
    let usage: { completion_tokens: number } | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(words(text)).toBe(120);
    expect(finish).toBe("stop");
    expect(usage?.completion_tokens).toBe(fake.log[0]!.completionTokens);
    // Five tokens a chunk: the text arrived in many pieces, not one.
    expect(chunks).toBeGreaterThan(fake.log[0]!.completionTokens / 5);
    await until(() => fake.inFlight() === 0);
  });

  it("trickles a stream at the configured pace and can stall halfway", async () => {
    const fake = await start({ stream: { tokensPerChunk: 10, pauseEveryTokens: 50, pauseMs: 100 } });
    const client = clientFor(fake);
    const started = Date.now();
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "Write.\nTarget length: about 150 words." }],
      stream: true,
    });
    const arrivals: number[] = [];
    for await (const chunk of stream)
      if (chunk.choices[0]?.delta.content) arrivals.push(Date.now() - started);
    // About 200 tokens: three or more pauses of 100 ms (give or take a timer tick) between the first and
    // the last piece.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(250);
    fake.setFaults({ rateStall: 1 });
    const stalled = await client.chat.completions.create(
      { model: "m", messages: [{ role: "user", content: "Write." }], stream: true },
      { timeout: 60_000 },
    );
    let received = "";
    const reading = (async () => {
      for await (const chunk of stalled) received += chunk.choices[0]?.delta.content ?? "";
    })();
    await until(() => fake.log[1]?.outcome === "stall");
    // Half the answer came, then nothing: the request stays open until the client gives up.
    await until(() => received.length > 0);
    expect(fake.inFlight()).toBe(1);
    stalled.controller.abort();
    await reading;
    await until(() => fake.inFlight() === 0);
  });

  it("accepts message content given as text parts", async () => {
    const fake = await start();
    await clientFor(fake).chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: [{ type: "text", text: "Part one\nline two" }] }],
    });
    expect(fake.log[0]).toMatchObject({ firstLine: "Part one", prompt: "Part one\nline two" });
  });

  it("appends log entries to a file, without the prompt", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fake-llm-"));
    try {
      const logFile = join(dir, "calls.jsonl");
      const fake = await start({ logFile, faults: { failWhenPromptIncludes: ["boom"] } });
      const client = clientFor(fake);
      await prose(client, "Write.");
      await failure(prose(client, "boom"));
      const lines = readFileSync(logFile, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.seq, l.outcome])).toEqual([
        [1, "ok"],
        [2, "500"],
      ]);
      expect(lines[0].prompt).toBeUndefined();
      expect(lines[0].promptTokens).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("closes promptly even with a request hanging", async () => {
    const fake = await startFakeLlm({ faults: { rateHang: 1 } });
    const call = prose(clientFor(fake), "Write.").catch((e: unknown) => e);
    await until(() => fake.log.length === 1);
    const started = Date.now();
    await fake.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await call).toBeInstanceOf(Error);
  });

  it("runs standalone and prints its URL", async () => {
    const child = spawn(
      "node_modules/.bin/tsx",
      ["tests/fakes/llm-server.ts", "--port", "0", "--api-key", KEY],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once("line", resolve);
        child.once("exit", (code) => reject(new Error(`fake exited early with ${code}`)));
      });
      const { url } = JSON.parse(line) as { url: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const client = new OpenAI({ baseURL: url, apiKey: KEY, maxRetries: 0 });
      const completion = await prose(client, "Target length: about 100 words.");
      expect(words(completion.choices[0]!.message.content!)).toBe(100);
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });
});

/** Polls `condition` every 10 ms for up to 5 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await new Promise((r) => setTimeout(r, 10));
  }
}

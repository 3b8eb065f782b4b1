import OpenAI, { APIError } from "openai";
import { describe, expect, it } from "vitest";
import { llmCalls } from "../db/schema";
import { AdaptiveLimit, allowanceOf, retryAfterMs } from "../src/llm/limit";
import { getProject } from "../src/pipeline/store";
import { eventually } from "./helpers/cli";
import { perTest } from "./helpers/engine";

const world = perTest();

describe("the process-wide limit on model calls", () => {
  it("halves on a 429, holds every call for its retry-after, and grows back slowly to its ceiling", async () => {
    const limit = new AdaptiveLimit(8);
    const held = await Promise.all(Array.from({ length: 8 }, () => limit.acquire()));
    let ninth = false;
    const waiting = limit.acquire().then((release) => {
      ninth = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(ninth).toBe(false);
    limit.rateLimited(150);
    expect(limit.limit).toBe(4);
    for (const release of held) release();
    // Free slots, but the endpoint asked for 150 ms of quiet.
    await new Promise((r) => setTimeout(r, 60));
    expect(ninth).toBe(false);
    const release = await waiting;
    expect(ninth).toBe(true);
    release();
    // Twice the limit of answered calls raise it by one, never above the ceiling.
    for (let i = 0; i < 8; i++) limit.answered(null);
    expect(limit.limit).toBe(5);
    for (let i = 0; i < 200; i++) limit.answered(null);
    expect(limit.limit).toBe(8);
    // No more calls start than the endpoint says it still takes before its window resets.
    limit.answered({ remaining: 2, resetMs: 150 });
    const started = Date.now();
    const two = [await limit.acquire(), await limit.acquire()];
    expect(Date.now() - started).toBeLessThan(100);
    (await limit.acquire())();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    for (const release of two) release();
  });

  it("gives a waiting caller's place up when its call is cancelled", async () => {
    const limit = new AdaptiveLimit(1);
    const first = await limit.acquire();
    const controller = new AbortController();
    const cancelled = limit.acquire(controller.signal);
    const next = limit.acquire();
    controller.abort(new Error("cancelled"));
    await expect(cancelled).rejects.toThrow("cancelled");
    first();
    (await next)();
  });

  it("tells its listeners of each call that has to wait for a slot, and of no other", async () => {
    const limit = new AdaptiveLimit(1);
    const told: (number | null | undefined)[] = [];
    const stop = limit.onWait((who) => told.push(who.project));
    const first = await limit.acquire(undefined, { owner: "a", project: 1 });
    expect(told).toEqual([]);
    const second = limit.acquire(undefined, { owner: "b", project: 2 });
    expect(told).toEqual([2]);
    first();
    (await second)();
    stop();
    const third = await limit.acquire(undefined, { owner: "a", project: 3 });
    const fourth = limit.acquire(undefined, { owner: "b", project: 4 });
    expect(told).toEqual([2]);
    third();
    (await fourth)();
  });

  it("serves authors in turn, and a scene's next step before its author's next turn", async () => {
    const limit = new AdaptiveLimit(1);
    const served: string[] = [];
    const ask = (name: string, owner: string, project: number, unit?: string) =>
      limit.acquire(undefined, { owner, project, ...(unit ? { unit } : {}) }).then((release) => {
        served.push(name);
        return release;
      });
    const held = await limit.acquire();
    const a1 = ask("a: scene 1 plan", "a", 1, "1:drafting:1");
    const b = ask("b: concept", "b", 2);
    const c = ask("c: concept", "c", 3);
    held();
    const releaseA1 = await a1;
    // The scene's draft asks while its plan still holds the slot; another of a's scenes asks too.
    const a2 = ask("a: scene 1 draft", "a", 1, "1:drafting:1");
    const a3 = ask("a: scene 2 plan", "a", 1, "1:drafting:2");
    // Where each would stand: the draft keeps the plan's place, the next scene waits its turn.
    expect(limit.positions().get(1)).toBe(0);
    releaseA1();
    for (const next of [a2, b, c, a3]) (await next)();
    expect(served).toEqual([
      "a: scene 1 plan",
      "a: scene 1 draft",
      "b: concept",
      "c: concept",
      "a: scene 2 plan",
    ]);
  });

  it("reads OpenAI's allowance and retry headers", () => {
    const headers = new Headers({
      "x-ratelimit-limit-requests": "500",
      "x-ratelimit-remaining-requests": "12",
      "x-ratelimit-reset-requests": "1m30s",
      "x-ratelimit-remaining-tokens": "0",
      "x-ratelimit-reset-tokens": "250ms",
    });
    expect(allowanceOf(headers)).toEqual({ remaining: 12, resetMs: 90_000, limit: 500 });
    expect(
      allowanceOf(
        new Headers({ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "120ms" }),
      ),
    ).toEqual({ remaining: 0, resetMs: 120 });
    expect(allowanceOf(new Headers())).toBeNull();
    expect(retryAfterMs(new Headers({ "retry-after": "2" }))).toBe(2000);
    expect(retryAfterMs(new Headers({ "retry-after-ms": "120", "retry-after": "1" }))).toBe(120);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});

describe("a key with a low rate limit", () => {
  it("is enforced by the fake as OpenAI does: 429 past the allowance, headers on every answer", async () => {
    const { fake } = await world.start({
      seed: 30,
      latencyMs: 50,
      rateLimit: { requests: 5, windowMs: 10_000 },
    });
    const client = new OpenAI({ baseURL: fake.url, apiKey: "test-key", maxRetries: 0 });
    const ask = () =>
      client.chat.completions
        .create({ model: "m", messages: [{ role: "user", content: "Write." }] })
        .withResponse()
        .then(
          ({ response }) => response.headers,
          (error: APIError) => error,
        );
    const answers = await Promise.all(Array.from({ length: 6 }, ask));
    const refused = answers.filter((a): a is APIError => a instanceof APIError);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.status).toBe(429);
    expect(Number(refused[0]!.headers?.get("retry-after-ms"))).toBeGreaterThan(0);
    const remaining = answers
      .filter((a): a is Headers => a instanceof Headers)
      .map((h) => h.get("x-ratelimit-remaining-requests"));
    expect(remaining.every((r) => r === "0")).toBe(true);
  });

  it("writes two novels at once without spending its attempts on 429s", async () => {
    // Five requests per 300 ms, against a ceiling of eight calls in flight and two projects at once.
    const { fake, engine } = await world.start(
      { seed: 31, latencyMs: 20, rateLimit: { requests: 5, windowMs: 300 } },
      { FOLIO_LLM_CONCURRENCY: "8", FOLIO_REFINE_CONCURRENCY: "8", FOLIO_MAX_ACTIVE_PROJECTS: "2" },
    );
    const ids = [
      await engine.create({
        premise: "A glassblower's apprentice hears the breath of the dead.",
        scenes: 5,
        words: 3000,
        autoApprove: true,
      }),
      await engine.create({
        premise: "A tide-clock maker on a sinking island races the sea.",
        scenes: 5,
        words: 3000,
        autoApprove: true,
      }),
    ];
    for (const id of ids)
      await eventually(async () => (await getProject(engine.db, id))?.status === "done", 180_000);
    const limited = fake.log.filter((e) => e.outcome === "429").length;
    const answered = fake.log.filter((e) => e.outcome === "ok").length;
    // Eight calls at once would overrun five a window again and again; the allowance each answer
    // reports keeps the starts within it, but for a window's edge now and then on a busy machine.
    expect(answered).toBeGreaterThan(60);
    expect(limited / answered).toBeLessThan(0.05);
    expect(engine.events.filter((e) => e.type === "unit_retry")).toEqual([]);
    const recorded = await engine.db.select().from(llmCalls);
    expect(recorded.filter((r) => r.outcome === "http_429")).toHaveLength(limited);
    expect(engine.llm.limit.limit).toBeLessThanOrEqual(8);
  }, 240_000);
});

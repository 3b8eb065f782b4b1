import { afterEach, describe, expect, it } from "vitest";
import { projects } from "../db/schema";
import { getProject } from "../src/pipeline/store";
import { eventually } from "./helpers/cli";
import { startWorld, type World } from "./helpers/discord";
import { perTest } from "./helpers/engine";
import { rowsOf } from "./helpers/rows";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});
const engines = perTest();

/** One sample of a Prometheus text exposition: `name{labels} value`. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe("operations: health and metrics", () => {
  it("serves /healthz and /metrics from the bot, with the calls, tokens, cost and 429s it saw", async () => {
    world = await startWorld({ llm: { seed: 95 }, env: { FOLIO_HTTP_PORT: "0" } });
    const w = world;
    const url = w.bot.ops!.url;
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok", checks: { db: "ok", gateway: "ok", leases: "ok" } });
    // Discord answers one post with a 429 (discord.js waits it out and posts again).
    w.discord.inject429({
      method: "POST",
      pathPattern: /^\/channels\/\d+\/messages$/,
      count: 1,
      retryAfterSec: 0.2,
    });
    const start = await w.discord.sendCommand({
      user: w.author.id,
      command: "novel",
      subcommand: "start",
      options: {
        premise: "A lock-keeper on a dry canal keeps opening the gates for boats that never come.",
        scenes: 3,
        words: 2400,
        auto_approve: true,
      },
    });
    await start.waitForAck();
    const db = w.bot.engine.db;
    await eventually(async () => (await getProject(db, 1))?.status === "done", 120_000);
    const text = await (await fetch(`${url}/metrics`)).text();
    // The same figures as the calls recorded in the database.
    const recorded = (
      await rowsOf<{ calls: number; prompt: number; completion: number; cost: number }>(
        db,
        "select count(*) as calls, sum(prompt_tokens) as prompt, sum(completion_tokens) as completion, sum(cost_usd) as cost from llm_calls where outcome = 'ok'",
      )
    )[0]!;
    expect(recorded.calls).toBeGreaterThan(10);
    expect(sample(text, 'folio_model_calls_total{outcome="ok"}')).toBe(recorded.calls);
    expect(sample(text, 'folio_model_tokens_total{kind="prompt"}')).toBe(recorded.prompt);
    expect(sample(text, 'folio_model_tokens_total{kind="completion"}')).toBe(recorded.completion);
    expect(sample(text, "folio_model_cost_usd_total")).toBeCloseTo(recorded.cost, 6);
    expect(sample(text, 'folio_units_total{outcome="ok"}')).toBeGreaterThan(10);
    expect(sample(text, 'folio_discord_429_total{global="false"}')).toBe(1);
    expect(sample(text, "folio_model_queue_depth")).toBe(0);
    expect(sample(text, "folio_active_projects")).toBe(0);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
    // Without its gateway the bot is not healthy, and says why.
    await w.bot.client.destroy();
    const down = await fetch(`${url}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({
      status: "unhealthy",
      checks: { db: "ok", gateway: "not connected to Discord's gateway" },
    });
  }, 180_000);

  it("counts a project taken over from a process that let its lease expire", async () => {
    const { engine } = await engines.start({ seed: 96 });
    const id = await engine.create({
      premise: "A night-ferry pilot keeps a second logbook for the crossings nobody booked.",
      scenes: 3,
      words: 2400,
      autoApprove: true,
    });
    // Another host's process held it and stopped renewing.
    await engine.db
      .update(projects)
      .set({ leaseOwner: "elsewhere:4242:0000abcd", leaseExpiresAt: Date.now() - 1_000 });
    engine.scheduler.wake();
    await eventually(async () => (await getProject(engine.db, id))?.status === "done", 120_000);
    const text = await engine.metrics.text();
    expect(sample(text, "folio_lease_takeovers_total")).toBe(1);
    expect(sample(text, 'folio_units_total{outcome="ok"}')).toBeGreaterThan(10);
  }, 180_000);
});

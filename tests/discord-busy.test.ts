import { Routes } from "discord.js";
import { afterEach, describe, expect, it } from "vitest";
import type { ProgressSnapshot } from "../src/pipeline/events";
import { getProject, progressOf } from "../src/pipeline/store";
import { busiestSpan, startWorld, type World } from "./helpers/discord";
import { rowsOf } from "./helpers/rows";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const NOVELS = 50;

/** Fifty novels in one server at once: progress for all of them, and never Discord's global limit. */
describe("Discord: a busy server", () => {
  it("keeps fifty novels' progress within its edit budget and never meets the global limit", async () => {
    world = await startWorld({ llm: { seed: 93, latencyMs: 5 }, env: { FOLIO_LLM_CONCURRENCY: "8" } });
    const w = world;
    for (let k = 0; k < NOVELS; k++) {
      const author = w.discord.addMember({ username: `writer${k}` });
      const start = await w.discord.sendCommand({
        user: author.id,
        command: "novel",
        subcommand: "start",
        options: {
          premise: `Writer ${k}: a bell-ringer counts the strokes the tower rings when nobody pulls the rope.`,
          // Drafting long enough to be shown in progress edits, not only in each stage's first post (the
          // status cards' edits, at every stage, count against the same budget).
          scenes: 4,
          words: 2400,
          auto_approve: true,
        },
      });
      await start.waitForAck();
    }
    const done = async () =>
      (
        await rowsOf<{ n: number }>(
          w.bot.engine.db,
          "select count(*) as n from projects where status = 'done'",
        )
      )[0]!.n;
    await w.discord.waitFor(async () => (await done()) === NOVELS, 240_000);
    expect(w.discord.stats().globalLimited).toBe(0);
    // Progress edits, every project's together, stay within the bot's budget in every second.
    const edits = w.discord.calls.filter(
      (c) => c.method === "PATCH" && /^\/channels\/\d+\/messages\/\d+$/.test(c.path),
    );
    expect(edits.length).toBeGreaterThan(NOVELS);
    expect(busiestSpan(edits.map((c) => c.at))).toBeLessThanOrEqual(20);
    // Every book was delivered in its thread.
    const delivered = w.discord
      .threads()
      .filter((t) =>
        w.discord.messages(t.id).some((m) => m.attachments.some((a) => a.filename.endsWith(".docx"))),
      );
    expect(delivered).toHaveLength(NOVELS);
  }, 300_000);

  it("never holds a gate message back behind progress edits", async () => {
    world = await startWorld({ llm: { seed: 94, latencyMs: 5 } });
    const w = world;
    const { engine } = w.bot;
    const start = async (name: string, autoApprove: boolean) => {
      const author = w.discord.addMember({ username: name });
      const command = await w.discord.sendCommand({
        user: author.id,
        command: "novel",
        subcommand: "start",
        options: {
          premise: `${name}: a ferryman keeps a ledger of every passenger who never paid the fare.`,
          scenes: 3,
          words: 2400,
          auto_approve: autoApprove,
        },
      });
      await command.waitForAck();
    };
    // One novel at its outline gate; then, with the scheduler stopped, fifteen more with their threads.
    await start("planner", false);
    await w.discord.waitFor(async () => (await getProject(engine.db, 1))?.stage === "outline_gate", 60_000);
    await engine.scheduler.stop();
    for (let k = 0; k < 15; k++) await start(`drafter${k}`, true);
    // Each start done: its thread open and its status card posted.
    await w.discord.waitFor(() => {
      const threads = w.discord.threads();
      return threads.length === 16 && threads.every((t) => w.discord.messages(t.id).length > 0);
    }, 30_000);
    await w.bot.sink.flush();
    const novels = await rowsOf<{ id: number }>(
      engine.db,
      "select id from projects where id > 1 order by id",
    );
    const show = async () => {
      // Every snapshot read first, then the updates all asked for at once, as before.
      const snapshots: [number, ProgressSnapshot][] = [];
      for (const { id } of novels)
        snapshots.push([id, await progressOf(engine.db, (await getProject(engine.db, id))!)]);
      for (const [id, snapshot] of snapshots) w.bot.sink.progress.update(id, "High Concept", snapshot);
    };
    // Each novel's progress message posted...
    await show();
    await w.bot.sink.flush();
    // ...then the bot's window used up, its last requests held for the next one...
    await new Promise((r) => setTimeout(r, 1_100));
    const rest = w.bot.client.rest;
    // Requests to different routes go out at once (one route's go one after another).
    const fillers = w.discord
      .threads()
      .flatMap((t) => [rest.get(Routes.channel(t.id)), rest.get(Routes.channelMessages(t.id))]);
    // ...progress edits for fifteen novels waiting to be sent, and then a gate.
    const from = w.discord.calls.length;
    await show();
    await new Promise((r) => setTimeout(r, 50));
    w.bot.sink.sink({
      type: "gate",
      projectId: 1,
      stage: "outline_gate",
      progress: await progressOf(engine.db, (await getProject(engine.db, 1))!),
    });
    await Promise.all(fillers);
    const title = (c: { body: unknown }) =>
      (c.body as { embeds?: { title?: string }[] }).embeds?.[0]?.title ?? "";
    const isGate = (c: { method: string; body: unknown }) =>
      c.method === "POST" && title(c).includes("Outline ready for approval");
    const isEdit = (c: { method: string; body: unknown }) =>
      c.method === "PATCH" && title(c) === "High Concept";
    const sent = await w.discord.waitFor(() => {
      const calls = w.discord.calls.slice(from);
      return calls.some(isGate) && calls.filter(isEdit).length === novels.length ? calls : undefined;
    }, 30_000);
    // The gate went out first, though the edits were asked for before it.
    expect(sent.findIndex(isGate)).toBeLessThan(sent.findIndex(isEdit));
  }, 120_000);
});

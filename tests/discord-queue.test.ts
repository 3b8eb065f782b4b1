import { SnowflakeUtil } from "discord.js";
import { afterEach, describe, expect, it } from "vitest";
import type { StoredMessage } from "./fakes/discord-server";
import { startWorld, type World } from "./helpers/discord";
import { firstScenesAt } from "./helpers/engine";
import { rowsOf } from "./helpers/rows";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

/** Twelve authors, the last with three novels: fourteen short books asked for in the same second. */
const AUTHORS = Array.from({ length: 11 }, (_, k) => [`author${k}`]);
AUTHORS.push(["trilogist", "trilogist", "trilogist"]);
const NOVELS = AUTHORS.flat().length;
const SLOTS = 4;

/**
 * Twelve authors start at once against four model slots, through Discord: each is told where they stand
 * while they wait, the slots stay full, and each author's first scene comes about as soon as anyone's.
 */
describe("Discord: twelve authors and an honest queue", () => {
  it("shares the slots fairly, keeps them full, and shows queued authors their place", async () => {
    world = await startWorld({
      llm: { seed: 91, latencyMs: 300 },
      env: { FOLIO_LLM_CONCURRENCY: String(SLOTS) },
    });
    const w = world;
    const { engine } = w.bot;
    const members = new Map(AUTHORS.map(([name]) => [name!, w.discord.addMember({ username: name! })]));
    const slotsBefore = engine.llm.limit.slotMs;
    const started = Date.now();
    const starts = await Promise.all(
      AUTHORS.flat().map((name, k) =>
        w.discord.sendCommand({
          user: members.get(name)!.id,
          command: "novel",
          subcommand: "start",
          options: {
            premise: `${name.toUpperCase()}-${k}: a lamplighter's apprentice finds one street that stays dark whatever she does.`,
            scenes: 3,
            words: 2400,
            auto_approve: true,
          },
        }),
      ),
    );
    await Promise.all(starts.map((s) => s.waitForAck()));
    const threads = await w.discord.waitFor(() => {
      const all = w.discord.threads();
      return all.length === NOVELS ? all : undefined;
    }, 30_000);
    const novels = await rowsOf<{ id: number; owner: string }>(
      engine.db,
      "select id, owner_id as owner from projects order by id",
    );
    expect(novels).toHaveLength(NOVELS);
    const firsts = () =>
      firstScenesAt(
        engine,
        novels.map(({ id }) => id),
      );
    await w.discord.waitFor(async () => (await firsts()).size === NOVELS, 120_000);
    const firstScene = await firsts();
    const lastFirstScene = Math.max(...novels.map(({ id }) => firstScene.get(id)!));
    // The four slots were in use nearly all the time until every novel had its first scene.
    const busy = (engine.llm.limit.slotMs - slotsBefore) / (SLOTS * (Date.now() - started));
    expect(busy).toBeGreaterThanOrEqual(0.9);
    // Each author's wait for their first drafted scene, whichever of their novels it is in, from the
    // moment their thread opened (the bot opens fourteen threads within its own request budget, about
    // two seconds for the last): the slowest within 1.5× the fastest.
    const openedAt = new Map<number, number>();
    for (const { id } of novels) {
      const [row] = await rowsOf<{ threadId: string }>(
        engine.db,
        'select thread_id as "threadId" from discord_threads where project_id = ?',
        id,
      );
      openedAt.set(id, SnowflakeUtil.timestampFrom(row!.threadId));
    }
    const opened = (id: number) => openedAt.get(id)!;
    const waits = [...members.values()].map((m) =>
      Math.min(...novels.filter((n) => n.owner === m.id).map(({ id }) => firstScene.get(id)! - opened(id))),
    );
    expect(Math.max(...waits) / Math.min(...waits)).toBeLessThanOrEqual(1.5);
    // Up to the last first scene, the author with three novels had about one author's share of the calls.
    const calls = w.llm.log.filter((e) => e.at <= lastFirstScene);
    const trilogist = calls.filter((e) => /TRILOGIST-\d+:/.test(e.prompt)).length;
    expect(trilogist / calls.length).toBeLessThanOrEqual(1.5 / AUTHORS.length);

    // While an author waited, their thread said so, with their place (the progress message is edited
    // once the project runs, so what was said is read from what the bot sent).
    const said = (threadId: string) =>
      w.discord.calls
        .filter((c) => c.path.startsWith(`/channels/${threadId}/messages`))
        .map((c) => JSON.stringify(c.body));
    const queuedFirst = threads.filter((t) => {
      const bodies = said(t.id);
      const queued = bodies.findIndex((b) => /Queued — (\d+ novels? ahead|next in line)/.test(b));
      const conceptDone = bodies.findIndex((b) => b.includes("✅ High Concept"));
      return queued >= 0 && queued < conceptDone;
    });
    // Every author but the ones the slots took at once was told before their first stage was done.
    expect(queuedFirst.length).toBeGreaterThanOrEqual(NOVELS - SLOTS);
    // The status of a waiting or running project says which: the newest, last in the queue (the last
    // thread opened need not be its thread: on Postgres the starts commit in any order).
    const [newest] = await rowsOf<{ threadId: string }>(
      engine.db,
      'select thread_id as "threadId" from discord_threads order by project_id desc limit 1',
    );
    const status = await w.discord.sendCommand({
      user: members.get("trilogist")!.id,
      channelId: newest!.threadId,
      command: "novel",
      subcommand: "status",
    });
    await status.waitForAck();
    expect(JSON.stringify(status.responses.map((r) => r.body))).toMatch(
      /\*\*Now:\*\* [^"]+ — (running|Queued — )/,
    );

    // Every book is delivered in its thread.
    const delivered = (m: StoredMessage) => m.attachments.some((a) => a.filename.endsWith(".docx"));
    await w.discord.waitFor(() => threads.every((t) => w.discord.messages(t.id).some(delivered)), 240_000);
    // A book is posted before its project is recorded as done (the delivery commits after its post).
    const done = async () =>
      (
        await rowsOf<{ n: number }>(engine.db, "select count(*) as n from projects where status = 'done'")
      )[0]!;
    await w.discord.waitFor(async () => (await done()).n === NOVELS, 10_000).catch(() => {});
    expect(await done()).toEqual({ n: NOVELS });
  }, 360_000);
});

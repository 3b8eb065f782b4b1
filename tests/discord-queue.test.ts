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
 * Watches the model slots every 100 ms: the slot time used, and the slot time there was work for, at
 * most `slots` at a time: the calls in flight or waiting for a slot, and at least one for each running
 * project with model calls still to make (one between two calls is work the slots wait for; a book
 * being delivered makes none).
 */
function watchSlots(engine: World["bot"]["engine"], slots: number) {
  const { limit } = engine.llm;
  let last = { at: performance.now(), slotMs: limit.slotMs };
  let used = 0;
  let wanted = 0;
  let stopped = false;
  const watching = (async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, 100));
      const [running] = await rowsOf<{ n: number }>(
        engine.db,
        "select count(*) as n from projects where status = 'running' and stage <> 'deliver'",
      );
      const at = performance.now();
      const slotMs = limit.slotMs;
      const span = at - last.at;
      const inUse = slotMs - last.slotMs;
      used += inUse;
      wanted += Math.min(slots * span, Math.max(inUse + limit.queued * span, running!.n * span));
      last = { at, slotMs };
    }
  })();
  return {
    async stop() {
      stopped = true;
      await watching;
      return { used, wanted };
    },
  };
}

/** The projects seen waiting for a model slot, looked at every 20 ms, and when each was first seen. */
function watchWaiting(engine: World["bot"]["engine"]) {
  const seen = new Map<number, number>();
  const timer = setInterval(() => {
    for (const id of engine.llm.limit.positions().keys()) if (!seen.has(id)) seen.set(id, Date.now());
  }, 20);
  return { seen, stop: () => clearInterval(timer) };
}

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
    const slots = watchSlots(engine, SLOTS);
    const waiting = watchWaiting(engine);
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
    const novels = await rowsOf<{ id: number; owner: string; premise: string }>(
      engine.db,
      "select id, owner_id as owner, premise from projects order by id",
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
    // The four slots were in use nearly all the time there was work for them, until every novel had
    // its first scene. (Over the whole time, the first second, before the threads are open, and the
    // last seconds, when only the trilogist's later novels are still planning, one call at a time each
    // and nothing else to run, leave slots empty with no work for them: that share is printed too.)
    const { used, wanted } = await slots.stop();
    const overall = (engine.llm.limit.slotMs - slotsBefore) / (SLOTS * (Date.now() - started));
    console.log(
      `slots: ${(used / wanted).toFixed(3)} of the slot time there was work for, ${overall.toFixed(3)} of all`,
    );
    expect(used / wanted).toBeGreaterThanOrEqual(0.9);
    // Each author's wait for their first drafted scene, whichever of their novels it is in, from the
    // moment their thread opened (the bot opens fourteen threads within its own request budget, about
    // two seconds for the last): the slowest within 1.5× the fastest.
    const threadOf = new Map(
      (
        await rowsOf<{ id: number; threadId: string }>(
          engine.db,
          'select project_id as id, thread_id as "threadId" from discord_threads',
        )
      ).map(({ id, threadId }) => [id, threadId]),
    );
    const opened = (id: number) => SnowflakeUtil.timestampFrom(threadOf.get(id)!);
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
    // Every author whose novel waited a while for a slot before its first call (as long as the scheduler
    // takes between two looks at the queue) was told so before its first stage was done; not every novel
    // waits (the slots take some at once, and a novel may find a slot free as it comes).
    waiting.stop();
    const firstCallAt = new Map(
      novels.map(({ id, premise }) => {
        const tag = premise.slice(0, premise.indexOf(":") + 1);
        return [id, Math.min(...w.llm.log.filter((e) => e.prompt.includes(tag)).map((e) => e.at))];
      }),
    );
    expect([...firstCallAt.values()].every(Number.isFinite)).toBe(true);
    const waitedMs = (id: number) =>
      firstCallAt.get(id)! - (waiting.seen.get(id) ?? Number.POSITIVE_INFINITY);
    const waited = novels.filter(({ id }) => waitedMs(id) >= 250);
    console.log(`queue: ${waited.length} of ${NOVELS} novels waited for their first call`);
    // (Eight to ten of the fourteen in runs here: the check below is not passed by nobody waiting.)
    expect(waited.length).toBeGreaterThanOrEqual(NOVELS / 3);
    const told = new Set(queuedFirst.map((t) => t.id));
    const untold = waited
      .filter(({ id }) => !told.has(threadOf.get(id)!))
      .map(
        ({ id }) =>
          `#${id}, waited ${waitedMs(id)} ms: ${said(threadOf.get(id)!)
            .map((b) => b.slice(0, 100))
            .join(" | ")}`,
      );
    expect(untold, `of ${waited.length} queued`).toEqual([]);
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

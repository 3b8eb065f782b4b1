import { afterEach, describe, expect, it } from "vitest";
import { transition } from "../src/pipeline/transition";
import type { StoredMessage } from "./fakes/discord-server";
import { startWorld, type World, waitForMessage } from "./helpers/discord";
import { rowsOf } from "./helpers/rows";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const PREMISE = "A ferryman's daughter keeps the ledger of every soul her father carried across.";

/** Starts a short novel that passes its gates by itself; resolves with its thread. */
async function startNovel(w: World): Promise<string> {
  const start = await w.discord.sendCommand({
    user: w.author.id,
    command: "novel",
    subcommand: "start",
    options: { premise: PREMISE, scenes: 4, words: 4000, auto_approve: true },
  });
  await start.waitForAck();
  await start.waitForResponse((r) => r.kind === "edit-original");
  return w.discord.waitFor(() => w.discord.threads().at(-1)?.id);
}

const finished = (w: World, threadId: string) =>
  w.discord
    .messages(threadId)
    .filter((m) => m.content.includes("is finished") || m.content.includes("is ready"));
const status = async (w: World) =>
  (
    await rowsOf<{ status: string; stage: string }>(
      w.bot.engine.db,
      "select status, stage from projects where id = 1",
    )
  )[0]!;

describe("Discord: the finished book is posted once", () => {
  it("when Discord stores the post but answers 500, the retry gets the same message back", async () => {
    world = await startWorld();
    const w = world;
    w.discord.failUploadsAfterStoring(1, /\.docx$/);
    const threadId = await startNovel(w);
    await w.discord.waitFor(async () => (await status(w)).status === "done", 60_000);
    expect(w.discord.stats().rejected.filter((r) => r.status === 500)).toHaveLength(1);
    const posts = finished(w, threadId);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.attachments.map((a) => a.filename.split(".").at(-1))).toEqual(["docx", "md", "png"]);
    const [recorded] = await rowsOf<{ id: string }>(
      w.bot.engine.db,
      "select delivery_message_id as id from discord_threads where project_id = 1",
    );
    expect(recorded!.id).toBe(posts[0]!.id);
  }, 90_000);

  it("a stage's files are posted once too when their post is stored and answered 500", async () => {
    world = await startWorld();
    const w = world;
    w.discord.failUploadsAfterStoring(1, /^concept\.md$/);
    const threadId = await startNovel(w);
    await w.discord.waitFor(async () => (await status(w)).status === "done", 60_000);
    expect(w.discord.stats().rejected.filter((r) => r.status === 500)).toHaveLength(1);
    const concept = w.discord
      .messages(threadId)
      .filter((m) => m.attachments.some((a) => a.filename === "concept.md"));
    expect(concept).toHaveLength(1);
  }, 90_000);

  it("a stage's summary is posted once, seconds later, when Discord answers 500 through the client's retries", async () => {
    world = await startWorld();
    const w = world;
    // Four 500s spend discord.js's own tries (one and three retries); the post's next try meets two more.
    w.discord.failPosts(6, /^✅ World Modeling$/);
    const threadId = await startNovel(w);
    await w.discord.waitFor(async () => (await status(w)).status === "done", 60_000);
    expect(w.discord.stats().rejected.filter((r) => r.status === 500)).toHaveLength(6);
    const titles = w.discord.messages(threadId).map((m) => String(m.embeds[0]?.title ?? ""));
    expect(titles.filter((t) => t === "✅ World Modeling")).toHaveLength(1);
    // In its place: after the concept's summary, before the beat sheet's.
    expect(titles.indexOf("✅ World Modeling")).toBeGreaterThan(titles.indexOf("✅ High Concept"));
    expect(titles.indexOf("✅ World Modeling")).toBeLessThan(titles.indexOf("✅ Beat Sheet"));
  }, 90_000);

  it("a delivery run again after a crash between the post and 'done' finds the post and only finishes", async () => {
    world = await startWorld();
    const w = world;
    const threadId = await startNovel(w);
    await w.discord.waitFor(async () => (await status(w)).status === "done", 60_000);
    // As a process that died after posting, before its commit: the project is still delivering.
    const back = await transition(w.bot.engine.db, 1, {
      from: ["done"],
      to: { status: "running", stage: "deliver" },
    });
    expect(back.ok).toBe(true);
    w.bot.engine.scheduler.wake();
    await w.discord.waitFor(async () => (await status(w)).status === "done", 30_000);
    expect(finished(w, threadId)).toHaveLength(1);
  }, 90_000);

  it("a server whose upload limit is under the book's size gets the message saying where the book is", async () => {
    world = await startWorld({ discord: { uploadLimitBytes: 20_000 } });
    const w = world;
    const threadId = await startNovel(w);
    const notice: StoredMessage = await waitForMessage(
      w.discord,
      threadId,
      (m) => m.content.includes("is finished, but"),
      60_000,
    );
    expect(notice.content).toMatch(
      /^<@\d+> \*\*.+\*\* is finished, but the manuscript \([\d.]+ MiB\) is over this server's upload limit\. Use `\/novel export format:markdown`, or `folio export 1` on the host\.$/,
    );
    expect(notice.attachments).toEqual([]);
    expect(notice.mentions.map((u) => u.id)).toEqual([w.author.id]);
    await w.discord.waitFor(async () => (await status(w)).status === "done", 30_000);
    expect(finished(w, threadId)).toHaveLength(1);
  }, 90_000);
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredMessage } from "./fakes/discord-server";
import { ephemeralText, startWorld, titleOf, type World, waitForMessage } from "./helpers/discord";
import { rowsOf } from "./helpers/rows";

const CHAPTER_TITLE = /^Chapter (\d+): (.+) — ([\d,]+) words$/;

/** The thread as a reading room: each chapter is posted the moment its last scene is drafted. */
describe("Discord: chapters as they are written", () => {
  let world: World;

  beforeAll(async () => {
    // Drafts come in short and wrapped in chatter, as real models' do: the chapters shown are the scenes
    // as stored, cleaned and expanded.
    world = await startWorld({
      llm: { seed: 31, latencyMs: 20, faults: { rateChatter: 0.4, underwrite: [0.5, 0.9], rate500: 0.03 } },
    });
  });
  afterAll(async () => {
    await world?.stop();
  });

  /** Starts a novel (7 scenes, both gates passed by themselves unless `options` say otherwise); its thread's id. */
  async function startNovel(options: Record<string, string | number | boolean>): Promise<string> {
    const before = new Set(world.discord.threads().map((t) => t.id));
    const start = await world.discord.sendCommand({
      user: world.author.id,
      command: "novel",
      subcommand: "start",
      options: {
        premise: "A ferrywoman keeps a ledger of every crossing the river has refused.",
        scenes: 7,
        words: 7000,
        auto_approve: true,
        ...options,
      },
    });
    await start.waitForAck();
    const thread = await world.discord.waitFor(() => world.discord.threads().find((t) => !before.has(t.id)));
    return thread!.id;
  }

  /** Starts a novel that runs through to delivery; returns its thread once the book is posted. */
  async function novel(options: Record<string, string | number | boolean>): Promise<StoredMessage[]> {
    const threadId = await startNovel(options);
    await waitForMessage(
      world.discord,
      threadId,
      (m) => m.attachments.some((a) => a.filename.endsWith(".docx")),
      90_000,
    );
    return world.discord.messages(threadId);
  }

  it("posts every chapter once, in order, with its words, its opening quoted and the chapter attached", async () => {
    const messages = await novel({});
    const projectId = (
      await rowsOf<{ id: number }>(world.bot.engine.db, "select max(id) as id from projects")
    )[0]!.id;
    const chapters = await rowsOf<{ number: number; title: string }>(
      world.bot.engine.db,
      `select number, title from chapters where project_id = ${projectId} order by number`,
    );
    const drafted = await rowsOf<{ chapter: number; scene: number; text: string; words: number }>(
      world.bot.engine.db,
      `select s.chapter, s.number as scene, v.text, v.words from scenes s
         join scene_versions v on v.project_id = s.project_id and v.scene_number = s.number and v.stage = 'drafting'
       where s.project_id = ${projectId} order by s.number`,
    );
    expect(chapters.length).toBeGreaterThan(1);

    const posted = messages.filter((m) => CHAPTER_TITLE.test(titleOf(m)));
    expect(posted.map((m) => Number(CHAPTER_TITLE.exec(titleOf(m))![1]))).toEqual(
      chapters.map((c) => c.number),
    );
    for (const [k, message] of posted.entries()) {
      const chapter = chapters[k]!;
      const scenes = drafted.filter((d) => d.chapter === chapter.number);
      const [, , title, words] = CHAPTER_TITLE.exec(titleOf(message))!;
      expect(title).toBe(chapter.title);
      expect(Number(words!.replace(/,/g, ""))).toBe(scenes.reduce((sum, s) => sum + s.words, 0));
      // The opening paragraph, quoted: the start of the chapter's first scene.
      const description = String(message.embeds[0]?.description ?? "");
      expect(description.startsWith("> ")).toBe(true);
      const opening = scenes[0]!.text
        .split(/\n\s*\n/)[0]!
        .trim()
        .replace(/\s+/g, " ");
      expect(opening.startsWith(description.slice(2, 40))).toBe(true);
      expect(description.length).toBeLessThanOrEqual(902);
      // The whole chapter, as Markdown: its heading, then every scene's words.
      expect(message.attachments.map((a) => a.filename)).toEqual([
        `chapter-${String(chapter.number).padStart(2, "0")}.md`,
      ]);
      const markdown = message.attachments[0]!.data.toString();
      expect(markdown.startsWith(`# Chapter ${chapter.number}: ${chapter.title}\n`)).toBe(true);
      for (const scene of scenes) {
        const lastParagraph = scene.text
          .trim()
          .split(/\n\s*\n/)
          .at(-1)!
          .trim()
          .replace(/\s+/g, " ");
        expect(markdown).toContain(lastParagraph.slice(-60));
      }
    }
    // Every chapter is posted while the book is drafted: before the first word of revision.
    const index = (m: StoredMessage) => messages.indexOf(m);
    const revising = messages.findIndex((m) => titleOf(m).includes("Self-Refinement"));
    expect(revising).toBeGreaterThan(-1);
    expect(posted.every((m) => index(m) < revising)).toBe(true);
    // Recorded once each, so a restarted bot does not post them again.
    const recorded = await rowsOf<{ n: number }>(
      world.bot.engine.db,
      `select count(*) as n from discord_chapters where project_id = ${projectId}`,
    );
    expect(recorded[0]!.n).toBe(chapters.length);
    // The model did misbehave on the way.
    expect(world.llm.log.some((e) => e.outcome === "500")).toBe(true);
  }, 120_000);

  it("posts no chapter with chapters:false", async () => {
    const messages = await novel({ chapters: false });
    expect(messages.filter((m) => CHAPTER_TITLE.test(titleOf(m)))).toEqual([]);
    expect(messages.filter((m) => m.attachments.some((a) => /^chapter-\d+\.md$/.test(a.filename)))).toEqual(
      [],
    );
  }, 120_000);

  it("turns chapter messages off with /novel settings, for the owner only", async () => {
    const threadId = await startNovel({ scenes: 5, words: 5000, auto_approve: false });
    await waitForMessage(world.discord, threadId, (m) => titleOf(m).startsWith("📜 Outline ready"), 60_000);
    const settings = (user: string) =>
      world.discord.sendCommand({
        user,
        channelId: threadId,
        command: "novel",
        subcommand: "settings",
        options: { chapters: false },
      });
    // Someone else is refused, privately, and nothing changes.
    const stranger = await settings(world.other.id);
    await stranger.waitForAck();
    expect(ephemeralText(stranger)[0]).toContain("Only <@");
    const shown = async () =>
      (
        await rowsOf<{ shown: unknown }>(
          world.bot.engine.db,
          "select show_chapters as shown from projects order by id desc limit 1",
        )
      )[0]!.shown;
    expect([true, 1]).toContain(await shown());
    const owner = await settings(world.author.id);
    await owner.waitForAck();
    const reply = await owner.waitForResponse(() => true);
    expect(String(reply.body.content ?? (reply.body.data as { content?: string })?.content)).toMatch(
      /^Project #\d+: chapter messages are off/,
    );
    expect([false, 0]).toContain(await shown());
    // Drafted from then on, no chapter is posted.
    const approve = await world.discord.sendCommand({
      user: world.author.id,
      channelId: threadId,
      command: "novel",
      subcommand: "approve",
    });
    await approve.waitForAck();
    await waitForMessage(world.discord, threadId, (m) => titleOf(m).startsWith("📝 Draft complete"), 60_000);
    expect(world.discord.messages(threadId).filter((m) => CHAPTER_TITLE.test(titleOf(m)))).toEqual([]);
  }, 120_000);

  it("posts a chapter whose message was lost (a bot stopped before posting it) before the gate it owes", async () => {
    const threadId = await startNovel({ scenes: 5, words: 5000, auto_approve: false });
    const outline = await waitForMessage(world.discord, threadId, (m) =>
      titleOf(m).startsWith("📜 Outline ready"),
    );
    const projectId = (
      await rowsOf<{ id: number }>(world.bot.engine.db, "select max(id) as id from projects")
    )[0]!.id;
    const press = await world.discord.clickButton({
      user: world.author.id,
      channelId: threadId,
      messageId: outline.id,
      customId: `folio:approve:${projectId}`,
    });
    await press.waitForAck();
    await waitForMessage(world.discord, threadId, (m) => titleOf(m).startsWith("📝 Draft complete"), 60_000);
    await world.bot.sink.flush();
    const posted = () => world.discord.messages(threadId).filter((m) => CHAPTER_TITLE.test(titleOf(m)));
    const chapters = posted().length;
    expect(chapters).toBeGreaterThan(1);
    // As a bot that stopped after the last scene's commit finds it: neither the last chapter nor the
    // draft gate was posted.
    await rowsOf(
      world.bot.engine.db,
      "delete from discord_chapters where project_id = ? and chapter = ?",
      projectId,
      chapters,
    );
    await rowsOf(
      world.bot.engine.db,
      "update discord_threads set notice_message_id = null where project_id = ?",
      projectId,
    );
    await world.bot.sink.repostMissingNotices();
    const gates = () =>
      world.discord.messages(threadId).filter((m) => titleOf(m).startsWith("📝 Draft complete"));
    await world.discord.waitFor(() => gates().length === 2, 30_000);
    await world.bot.sink.flush();
    const again = posted().filter((m) => Number(CHAPTER_TITLE.exec(titleOf(m))![1]) === chapters);
    expect(again).toHaveLength(2);
    const messages = world.discord.messages(threadId);
    expect(messages.indexOf(again[1]!)).toBeLessThan(messages.indexOf(gates()[1]!));
    // Only the lost one: the chapters already shown are not posted again.
    expect(posted()).toHaveLength(chapters + 1);
    const recorded = await rowsOf<{ n: number }>(
      world.bot.engine.db,
      "select count(*) as n from discord_chapters where project_id = ?",
      projectId,
    );
    expect(Number(recorded[0]!.n)).toBe(chapters);
  }, 120_000);
});

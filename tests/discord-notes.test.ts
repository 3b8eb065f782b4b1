import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredMessage } from "./fakes/discord-server";
import {
  buttonIds,
  descriptionOf,
  ephemeralText,
  startWorld,
  titleOf,
  type World,
  waitForMessage,
} from "./helpers/discord";
import { rowsOf } from "./helpers/rows";

const CHAPTER_TITLE = /^Chapter (\d+): (.+) — ([\d,]+) words$/;
const NOTE = "Mara would never apologise here. Too slow in the middle: cut to the bridge.";
const EDITED = "Mara would never apologise here; let her walk out instead.";

/** The "**Now:** …" line of a status card's embed. */
const nowOf = (embeds: unknown[]) =>
  /\*\*Now:\*\* ([^\n]+)/.exec(String((embeds[0] as { description?: string })?.description ?? ""))?.[1];

/**
 * The thread as a reading room, read as an author would: chapters with a Notes… button, the owner's
 * notes steering self-refinement of that chapter's scenes (and only them), the status card edited at
 * every change and ending "Delivered", and the delivery message the last word of the thread.
 */
describe("Discord: notes on chapters, the status card and the last word", () => {
  let world: World;

  beforeAll(async () => {
    // A model that misbehaves as real ones do: server errors, chatter around the prose, short drafts.
    world = await startWorld({
      llm: {
        seed: 47,
        latencyMs: 20,
        faults: { rate500: 0.05, rateChatter: 0.3, underwrite: [0.6, 0.95], rateTruncatedJson: 0.03 },
      },
    });
  });
  afterAll(async () => {
    await world?.stop();
  });

  const db = () => world.bot.engine.db;

  const click = async (user: string, threadId: string, message: StoredMessage, customId: string) => {
    const press = await world.discord.clickButton({
      user,
      channelId: threadId,
      messageId: message.id,
      customId,
    });
    await press.waitForAck();
    return press;
  };

  it("takes the owner's note on a chapter and gives it to self-refinement first; the card and the last word tell the truth", async () => {
    const start = await world.discord.sendCommand({
      user: world.author.id,
      command: "novel",
      subcommand: "start",
      options: {
        premise: "A ferrywoman keeps a ledger of every crossing the river has refused.",
        scenes: 7,
        words: 7000,
      },
    });
    await start.waitForAck();
    const threadId = await world.discord.waitFor(() => world.discord.threads().at(-1)?.id);
    await start.waitForResponse((r) => r.kind === "edit-original");
    const projectId = (await rowsOf<{ id: number }>(db(), "select max(id) as id from projects"))[0]!.id;

    // The status card is the thread's first message, and it moves with the project.
    const card = () => world.discord.messages(threadId)[0]!;
    expect(titleOf(card())).toMatch(new RegExp(`^#${projectId} `));
    const outlineGate = await waitForMessage(world.discord, threadId, (m) =>
      titleOf(m).startsWith("📜 Outline ready"),
    );
    await world.discord.waitFor(() => nowOf(card().embeds) === "Waiting for your outline approval");
    expect(descriptionOf(card())).toContain("**You can:** Read the outline below, then **Approve**");
    await click(world.author.id, threadId, outlineGate, `folio:approve:${projectId}`);

    const draftGate = await waitForMessage(
      world.discord,
      threadId,
      (m) => titleOf(m).startsWith("📝 Draft complete"),
      60_000,
    );
    await world.discord.waitFor(() => nowOf(card().embeds) === "Waiting for your draft approval");
    const chapters = await rowsOf<{ number: number; title: string }>(
      db(),
      `select number, title from chapters where project_id = ${projectId} order by number`,
    );
    expect(chapters.length).toBeGreaterThan(1);
    const chapterMessages = world.discord.messages(threadId).filter((m) => CHAPTER_TITLE.test(titleOf(m)));
    expect(chapterMessages.map((m) => buttonIds(m))).toEqual(
      chapters.map((c) => [`folio:notes:${projectId}:${c.number}`]),
    );
    const noted = chapters[1]!;
    const message = chapterMessages[1]!;

    // A stranger's click is refused, privately; nothing is written.
    const stranger = await click(
      world.other.id,
      threadId,
      message,
      `folio:notes:${projectId}:${noted.number}`,
    );
    expect(stranger.modal).toBeUndefined();
    expect(ephemeralText(stranger)[0]).toContain(`Only <@${world.author.id}>`);

    // The owner writes a note, then opens the form again: it holds the note, which she edits.
    const submit = async (text: string) => {
      const press = await click(
        world.author.id,
        threadId,
        message,
        `folio:notes:${projectId}:${noted.number}`,
      );
      const modal = press.modal as { title?: string } | undefined;
      expect(modal?.title).toBe(`Notes on chapter ${noted.number}`);
      const sent = await world.discord.submitModal({
        user: world.author.id,
        channelId: threadId,
        messageId: message.id,
        customId: `folio:notes-submit:${projectId}:${noted.number}`,
        fields: { notes: text },
      });
      await sent.waitForAck();
      return { modal: JSON.stringify(press.modal), reply: ephemeralText(sent)[0] ?? "" };
    };
    const first = await submit(NOTE);
    expect(first.reply).toContain(`Noted on chapter ${noted.number}`);
    const second = await submit(EDITED);
    expect(second.modal).toContain(NOTE.slice(0, 40));
    expect(second.reply).toContain(`Note replaced on chapter ${noted.number}`);

    // /novel notes lists it.
    const list = await world.discord.sendCommand({
      user: world.author.id,
      channelId: threadId,
      command: "novel",
      subcommand: "notes",
    });
    await list.waitForAck();
    const listed = JSON.stringify((await list.waitForResponse(() => true)).body);
    expect(listed).toContain(`Chapter ${noted.number}: ${noted.title}`);
    expect(listed).toContain(EDITED.slice(0, 40));

    // The draft gate, presented again after a redraft, counts the chapters with notes.
    await click(world.author.id, threadId, draftGate, `folio:redraft:${projectId}`);
    const redraft = await world.discord.submitModal({
      user: world.author.id,
      channelId: threadId,
      messageId: draftGate.id,
      customId: `folio:redraft-submit:${projectId}`,
      fields: { scene: "1", notes: "" },
    });
    await redraft.waitForAck();
    const again = await world.discord.waitFor(
      () => world.discord.messages(threadId).filter((m) => titleOf(m).startsWith("📝 Draft complete"))[1],
      60_000,
    );
    expect(descriptionOf(again)).toContain("1 chapter has your notes");

    // Revision starts.
    const scenesMark = world.llm.log.length;
    await click(world.author.id, threadId, again, `folio:start-revision:${projectId}`);
    const delivery = await waitForMessage(
      world.discord,
      threadId,
      (m) => m.content.includes("your novel is ready"),
      120_000,
    );

    // Self-refinement read the note first for that chapter's scenes, and only for them.
    const scenes = await rowsOf<{ number: number; chapter: number }>(
      db(),
      `select number, chapter from scenes where project_id = ${projectId} order by number`,
    );
    const revising = world.llm.log.slice(scenesMark).filter((e) => e.outcome === "ok");
    const critiques = revising.filter((e) => e.schemaName === "scene_critique");
    const rewrites = revising.filter((e) =>
      /^Revise scene \d+: .* — apply the editor's critique/.test(e.firstLine),
    );
    // Each scene is scored, and each rewrite scored again.
    expect(critiques.length).toBe(scenes.length + rewrites.length);
    const sceneOf = (e: { prompt: string }) => Number(/(?:Critique|Revise) scene (\d+)/.exec(e.prompt)?.[1]);
    const inNoted = new Set(scenes.filter((s) => s.chapter === noted.number).map((s) => s.number));
    for (const e of critiques) expect(e.prompt.includes(EDITED)).toBe(inNoted.has(sceneOf(e)));
    // Every scene of the noted chapter is rewritten, the note the first line of its instructions.
    expect(new Set(rewrites.filter((e) => inNoted.has(sceneOf(e))).map(sceneOf))).toEqual(inNoted);
    for (const e of rewrites) {
      const instructions = /Instructions:\n- ([^\n]*)/.exec(e.prompt)?.[1] ?? "";
      expect(instructions.includes(EDITED)).toBe(inNoted.has(sceneOf(e)));
      expect(e.prompt.includes(NOTE)).toBe(false);
    }

    // The report lists the note and what revision did with the chapter's scenes.
    const report = delivery.attachments.find((a) => a.filename.endsWith(".md"))!.data.toString();
    expect(report).toContain("## Your notes");
    expect(report).toContain(`### Chapter ${noted.number}: ${noted.title}`);
    expect(report).toContain(`> ${EDITED}`);
    for (const n of inNoted)
      expect(report).toMatch(
        new RegExp(`- Scene ${n}: (rewritten with the note|rewrite not kept \\(|the model declined)`),
      );

    // The card ends "Delivered", after showing every wait and stage it was edited for.
    await world.discord.waitFor(() => nowOf(card().embeds) === "Delivered", 15_000);
    const shown = card().embedHistory.map(nowOf);
    const order = [
      "Waiting for your outline approval",
      "Scene Drafting — running",
      "Waiting for your draft approval",
      "Delivered",
    ].map((line) => shown.findIndex((s) => s === line || s?.startsWith(line)));
    expect(order.every((k) => k >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(new Set(shown).size).toBeGreaterThanOrEqual(6);
    expect(descriptionOf(card())).toContain("`/novel export`");

    // The model did misbehave on the way.
    expect(world.llm.log.some((e) => e.outcome === "500")).toBe(true);

    // Nothing follows the delivery message: every message owed was posted before it.
    await world.bot.sink.flush();
    expect(world.discord.messages(threadId).at(-1)?.id).toBe(delivery.id);

    // Once revision has started, the notes are fixed (the refusal is the author's alone to see).
    const late = await click(world.author.id, threadId, message, `folio:notes:${projectId}:${noted.number}`);
    expect(late.modal).toBeUndefined();
    expect(ephemeralText(late)[0]).toContain("The book is finished");
    const seen = world.discord.messages(threadId).filter((m) => m.visibleTo === undefined);
    expect(seen.at(-1)?.id).toBe(delivery.id);
  }, 240_000);
});

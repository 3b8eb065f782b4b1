import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredMessage } from "./fakes/discord-server";
import {
  buttonIds,
  buttonsDisabled,
  ephemeralText,
  startWorld,
  titleOf,
  type World,
  waitForMessage,
} from "./helpers/discord";
import { readDocxWithPandoc } from "./helpers/pandoc";
import { readPng } from "./helpers/png";
import { rowsOf } from "./helpers/rows";

/** The whole journey an author takes, through real discord.js against the fake Discord server. */
describe("Discord: /novel start to the delivered .docx", () => {
  let world: World;
  let threadId: string;
  const thread = () => world.discord.messages(threadId);

  beforeAll(async () => {
    world = await startWorld({ llm: { latencyMs: 60 } });
  });
  afterAll(async () => {
    await world?.stop();
  });

  it("registers /novel for the guild at start-up", () => {
    const [command] = world.discord.commands(world.discord.guildId) as {
      name: string;
      options: { name: string }[];
    }[];
    expect(command?.name).toBe("novel");
    expect(command?.options.map((o) => o.name).sort()).toEqual(
      [
        "approve",
        "cancel",
        "export",
        "list",
        "notes",
        "pause",
        "redraft",
        "resume",
        "retry",
        "revise",
        "settings",
        "start",
        "status",
      ].sort(),
    );
  });

  it("acknowledges /novel start, opens a thread named after the title and links it", async () => {
    const start = await world.discord.sendCommand({
      user: world.author.id,
      command: "novel",
      subcommand: "start",
      options: {
        premise: "A lighthouse keeper finds a map that redraws itself every night.",
        title: "The Night Map",
        scenes: 6,
        words: 6000,
      },
    });
    await start.waitForAck();
    expect(start.ackLatencyMs).toBeLessThan(3000);
    const created = await world.discord.waitFor(() => world.discord.threads()[0]);
    expect(created?.name).toBe("The Night Map");
    threadId = created!.id;
    const reply = await start.waitForResponse((r) => r.kind === "edit-original");
    expect(String(reply.body.content)).toContain(`<#${threadId}>`);
    expect(titleOf(thread()[0]!)).toBe("#1 The Night Map");
  });

  it("posts each planning stage as an embed, then the outline gate with outline.md and buttons", async () => {
    const gate = await waitForMessage(world.discord, threadId, (m) =>
      titleOf(m).startsWith("📜 Outline ready"),
    );
    const titles = thread().map(titleOf);
    for (const stage of [
      "High Concept",
      "World Modeling",
      "Beat Sheet",
      "Character Profiles",
      "Master Outline",
    ]) {
      expect(titles).toContain(`✅ ${stage}`);
    }
    // The outline, and its arc drawn beside it, with alt text.
    expect(gate.attachments.map((a) => a.filename)).toEqual(["outline.md", "arc.png"]);
    const arc = gate.attachments[1]!;
    expect(arc.description).toMatch(/^The arc of ".+": tension by scene over 6 scenes in \d+ chapters/);
    expect(readPng(arc.data)).toMatchObject({ width: 1600, height: 900 });
    expect(readPng(arc.data).variance).toBeGreaterThan(200);
    expect(gate.attachments[0]!.data.toString()).toContain("### Scene 6:");
    expect(buttonIds(gate)).toEqual(["folio:approve:1", "folio:revise:1", "folio:cancel:1"]);
    const world1 = thread().find((m) => titleOf(m) === "✅ World Modeling")!;
    expect(world1.attachments.map((a) => a.filename)).toEqual(["world.md"]);
  });

  it("refuses Approve from someone else, privately, and nothing moves", async () => {
    const gate = thread().find((m) => titleOf(m).startsWith("📜 Outline ready"))!;
    const press = await world.discord.clickButton({
      user: world.other.id,
      channelId: threadId,
      messageId: gate.id,
      customId: "folio:approve:1",
    });
    await press.waitForAck();
    expect(ephemeralText(press)[0]).toContain("Only <@");
    expect((await rowsOf(world.bot.engine.db, "select status, stage from projects"))[0]).toEqual({
      status: "waiting",
      stage: "outline_gate",
    });
  });

  it("turns two rapid Approve clicks into one transition", async () => {
    const gate = thread().find((m) => titleOf(m).startsWith("📜 Outline ready"))!;
    const click = () =>
      world.discord.clickButton({
        user: world.author.id,
        channelId: threadId,
        messageId: gate.id,
        customId: "folio:approve:1",
      });
    const [first, second] = await Promise.all([click(), click()]);
    await Promise.all([first.waitForAck(), second.waitForAck()]);
    const refusals = [...ephemeralText(first), ...ephemeralText(second)];
    expect(refusals).toEqual(["Nothing waits for approval: the project is running."]);
    await world.discord.waitFor(() => thread().some((m) => m.content.startsWith("Outline approved")));
    expect(thread().filter((m) => m.content.startsWith("Outline approved"))).toHaveLength(1);
    await world.discord.waitFor(() =>
      buttonsDisabled(world.discord.messages(threadId).find((m) => m.id === gate.id)!),
    );
  });

  it("edits one progress message while drafting, at most once per interval", async () => {
    const gate = await waitForMessage(
      world.discord,
      threadId,
      (m) => titleOf(m).startsWith("📝 Draft complete"),
      60_000,
    );
    expect(titleOf(gate)).toMatch(/^📝 Draft complete: 6 scenes, [\d,]+ words$/);
    const progress = thread().filter((m) => titleOf(m).startsWith("Scene Drafting"));
    expect(progress).toHaveLength(1);
    expect(progress[0]!.editCount).toBeGreaterThanOrEqual(1);
    await world.discord.waitFor(
      () => titleOf(thread().find((m) => m.id === progress[0]!.id)!) === "Scene Drafting — done",
      5000,
    );
    const edits = world.discord.calls.filter(
      (c) => c.method === "PATCH" && c.path.endsWith(`/messages/${progress[0]!.id}`) && c.status === 200,
    );
    for (let k = 1; k < edits.length; k++)
      expect(edits[k]!.at - edits[k - 1]!.at).toBeGreaterThanOrEqual(390);
    expect(buttonIds(gate)).toEqual(["folio:start-revision:1", "folio:export-draft:1", "folio:redraft:1"]);
  });

  it("delivers the .docx in the thread after Start revision, mentioning only the author", async () => {
    const gate = thread().find((m) => titleOf(m).startsWith("📝 Draft complete"))!;
    const press = await world.discord.clickButton({
      user: world.author.id,
      channelId: threadId,
      messageId: gate.id,
      customId: "folio:start-revision:1",
    });
    await press.waitForAck();
    const delivery: StoredMessage = await waitForMessage(
      world.discord,
      threadId,
      (m) => m.attachments.some((a) => a.filename.endsWith(".docx")),
      30_000,
    );
    expect(delivery.content).toBe(`<@${world.author.id}> your novel is ready.`);
    expect(delivery.attachments.map((a) => a.filename)).toEqual([
      "the-night-map.docx",
      "the-night-map.report.md",
      "the-night-map.shape.png",
    ]);
    expect(delivery.attachments[1]!.data.toString()).toContain("Tokens and cost per stage");
    // The book's shape, drawn, is posted with the book and shown at the top of its report.
    const shape = delivery.attachments[2]!;
    expect(shape.description).toMatch(/^The shape of ".+": tension by scene over 6 scenes/);
    expect(readPng(shape.data)).toMatchObject({ width: 1600, height: 900 });
    expect(readPng(shape.data).variance).toBeGreaterThan(200);
    expect(delivery.attachments[1]!.data.toString()).toContain("](the-night-map.shape.png)");
    const revisionProgress = thread().filter((m) => titleOf(m).startsWith("Self-Refinement"));
    expect(revisionProgress).toHaveLength(1);
    expect(delivery.mentions.map((u) => u.id)).toEqual([world.author.id]);
    const path = join(world.dir, "delivered.docx");
    writeFileSync(path, delivery.attachments[0]!.data);
    const book = readDocxWithPandoc(path);
    const [chapters] = await rowsOf<{ n: number }>(world.bot.engine.db, "select count(*) as n from chapters");
    const [words] = await rowsOf<{ w: number }>(world.bot.engine.db, "select sum(words) as w from scenes");
    expect(book.headings).toHaveLength(chapters!.n);
    expect(book.words).toBeGreaterThanOrEqual(words!.w);
    expect(book.words).toBeLessThan(words!.w * 1.1);
  });

  it("acknowledged every interaction within 3 s and never pinged anyone else", () => {
    for (const record of world.discord.interactions) {
      expect(record.expired).toBe(false);
      expect(record.ackLatencyMs).toBeLessThan(3000);
    }
    const messages = world.discord.threads().flatMap((t) => world.discord.messages(t.id));
    for (const m of messages) {
      expect(m.mention_everyone).toBe(false);
      if (!m.content.includes("your novel is ready")) expect(m.mentions).toEqual([]);
    }
    expect(world.discord.stats().rejected).toEqual([]);
  });

  it("sent Discord and the model only what their own OpenAPI specifications allow", () => {
    expect(world.discord.calls.filter((c) => c.body !== undefined).length).toBeGreaterThan(20);
    expect(world.discord.violations).toEqual([]);
    expect(world.llm.log.length).toBeGreaterThan(20);
    expect(world.llm.violations).toEqual([]);
  });
});

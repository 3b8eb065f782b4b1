// Over 300 lines: every author action in a thread (revise, redraft, refusals, limits, restarts), each
// against one fake Discord and fake model started per test; splitting would only repeat that setup.
import { afterEach, describe, expect, it } from "vitest";
import { discordThreads } from "../db/schema";
import { arcChart, outlineArc } from "../src/pictures/arc";
import { loadPlan } from "../src/pipeline/store";
import { buttonIds, ephemeralText, startWorld, titleOf, type World, waitForMessage } from "./helpers/discord";
import { rowsOf } from "./helpers/rows";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const PREMISE = "A glassblower's apprentice can hear the breath of everyone who ever shaped a vessel.";

async function startNovel(w: World, options: Record<string, string | number | boolean> = {}) {
  const start = await w.discord.sendCommand({
    user: w.author.id,
    command: "novel",
    subcommand: "start",
    options: { premise: PREMISE, scenes: 4, words: 4000, ...options },
  });
  await start.waitForAck();
  const threadId = await w.discord.waitFor(() => w.discord.threads().at(-1)?.id);
  // "Started …" is said once the project is stored: the next interaction may refer to it.
  await start.waitForResponse((r) => r.kind === "edit-original");
  return { start, threadId };
}

/** A query's rows in the bot's database (`?` for each parameter). */
const rows = <T>(w: World, text: string, ...params: unknown[]) => rowsOf<T>(w.bot.engine.db, text, ...params);

describe("Discord: revising and redrafting", () => {
  it("regenerates only the outline when the author revises it with notes", async () => {
    world = await startWorld();
    const w = world;
    const { threadId } = await startNovel(w);
    const gate = await waitForMessage(w.discord, threadId, (m) => titleOf(m).startsWith("📜 Outline ready"));
    const press = await w.discord.clickButton({
      user: w.author.id,
      channelId: threadId,
      messageId: gate.id,
      customId: "folio:revise:1",
    });
    await press.waitForAck();
    expect(press.modal).toBeDefined();
    const submit = await w.discord.submitModal({
      user: w.author.id,
      channelId: threadId,
      messageId: gate.id,
      customId: "folio:revise-submit:1",
      fields: { notes: "Move the storm to chapter one and give the apprentice a sister." },
    });
    await submit.waitForAck();
    await w.discord.waitFor(
      () =>
        w.discord.messages(threadId).filter((m) => titleOf(m).startsWith("📜 Outline ready")).length === 2,
      20_000,
    );
    const counts = Object.fromEntries(
      (
        await rows<{ stage: string; n: number }>(
          w,
          "select stage, count(*) as n from stage_outputs group by stage",
        )
      ).map((r) => [r.stage, r.n]),
    );
    expect(counts).toEqual({ concept: 1, world: 1, beats: 1, characters: 1, outline: 2 });
    const revision = w.llm.log.filter((e) => e.schemaName?.startsWith("outline_")).at(-1)!;
    expect(revision.prompt).toContain("Move the storm to chapter one and give the apprentice a sister.");
    expect(w.llm.log.filter((e) => e.schemaName === "high_concept")).toHaveLength(1);
    // The revised outline comes with its own arc, drawn from the new cards.
    const [first, second] = w.discord
      .messages(threadId)
      .filter((m) => titleOf(m).startsWith("📜 Outline ready"))
      .map((m) => m.attachments.find((a) => a.filename === "arc.png")!);
    const revised = await arcChart(outlineArc(await loadPlan(w.bot.engine.db, 1))!);
    expect(second!.data.equals(revised.png)).toBe(true);
    expect(second!.description).toBe(revised.description);
    expect(first!.id).not.toBe(second!.id);
  });

  it("redrafts one scene with notes and keeps the old version", async () => {
    world = await startWorld();
    const w = world;
    const { threadId } = await startNovel(w, { auto_approve: false });
    const outlineGate = await waitForMessage(w.discord, threadId, (m) =>
      titleOf(m).startsWith("📜 Outline ready"),
    );
    const approve = await w.discord.sendCommand({
      user: w.author.id,
      channelId: threadId,
      command: "novel",
      subcommand: "approve",
    });
    await approve.waitForAck();
    expect(buttonIds(outlineGate)).toContain("folio:approve:1");
    const draftGate = await waitForMessage(
      w.discord,
      threadId,
      (m) => titleOf(m).startsWith("📝 Draft complete"),
      30_000,
    );
    const before = (await rows<{ text: string }>(w, "select text from scenes where number = 2"))[0]!.text;
    const press = await w.discord.clickButton({
      user: w.author.id,
      channelId: threadId,
      messageId: draftGate.id,
      customId: "folio:redraft:1",
    });
    await press.waitForAck();
    const bad = await w.discord.submitModal({
      user: w.author.id,
      channelId: threadId,
      messageId: draftGate.id,
      customId: "folio:redraft-submit:1",
      fields: { scene: "x2", notes: "" },
    });
    await bad.waitForAck();
    expect(ephemeralText(bad)[0]).toBe("The scene number must be a whole number from 1 to 4.");
    const submit = await w.discord.submitModal({
      user: w.author.id,
      channelId: threadId,
      messageId: draftGate.id,
      customId: "folio:redraft-submit:1",
      fields: { scene: "2", notes: "Make the kiln scene quieter." },
    });
    await submit.waitForAck();
    await w.discord.waitFor(
      () =>
        w.discord.messages(threadId).filter((m) => titleOf(m).startsWith("📝 Draft complete")).length === 2,
      20_000,
    );
    const versions = await rows<{ stage: string; text: string; note: string | null }>(
      w,
      "select stage, text, note from scene_versions where scene_number = 2 order by id",
    );
    expect(versions.map((v) => v.stage)).toEqual(["drafting", "redraft"]);
    expect(versions[0]!.text).toBe(before);
    expect(versions[1]!.note).toBe("Make the kiln scene quieter.");
    const now = (await rows<{ text: string }>(w, "select text from scenes where number = 2"))[0]!.text;
    expect(now).toBe(versions[1]!.text);
    expect(
      w.llm.log.some(
        (e) =>
          e.firstLine.startsWith("Draft scene 2 of 4") && e.prompt.includes("Make the kiln scene quieter."),
      ),
    ).toBe(true);
  });
});

describe("Discord: bad input gets one clear private answer", () => {
  it("answers each mistake ephemerally and changes nothing", async () => {
    world = await startWorld();
    const w = world;
    const ask = async (
      subcommand: string,
      options: Record<string, string | number | boolean> = {},
      user = w.author.id,
    ) => {
      const record = await w.discord.sendCommand({ user, command: "novel", subcommand, options });
      await record.waitForAck();
      expect(record.ackLatencyMs).toBeLessThan(3000);
      const answers = ephemeralText(record);
      expect(answers).toHaveLength(1);
      return answers[0];
    };
    expect(await ask("start", { premise: "Too short" })).toBe(
      "The premise needs at least 10 characters: a sentence or two about the story.",
    );
    expect(await ask("start", { premise: "x".repeat(4001) })).toBe(
      "The premise can be at most 4000 characters.",
    );
    expect(await ask("start", { premise: PREMISE, scenes: 200 })).toBe(
      "scenes must be a whole number from 3 to 120.",
    );
    expect(await ask("start", { premise: PREMISE, scenes: 2 })).toBe(
      "scenes must be a whole number from 3 to 120.",
    );
    expect(await ask("status", { project: "999" })).toBe("There is no project #999 in this server.");
    expect(await ask("approve")).toBe(
      "Which project? Use the project option, or run this in the project's thread.",
    );
    expect((await rows(w, "select count(*) as n from projects"))[0]).toEqual({ n: 0 });
    expect(w.discord.threads()).toHaveLength(0);

    const { threadId } = await startNovel(w);
    await waitForMessage(w.discord, threadId, (m) => titleOf(m).startsWith("📜 Outline ready"));
    expect(await ask("approve", { project: "1" }, w.other.id)).toContain("Only <@");
    expect(await ask("redraft", { project: "1", scene: 2 })).toBe("No scene has been drafted yet.");
    const approve = await w.discord.sendCommand({
      user: w.admin.id,
      channelId: threadId,
      command: "novel",
      subcommand: "approve",
    });
    await approve.waitForAck();
    expect(ephemeralText(approve)).toEqual([]);
    expect(await ask("approve", { project: "1" })).toMatch(/^Nothing waits for approval/);
  });

  it("limits unfinished projects per user", async () => {
    world = await startWorld({ env: { FOLIO_MAX_PROJECTS_PER_USER: "1" } });
    const w = world;
    await startNovel(w);
    const second = await w.discord.sendCommand({
      user: w.author.id,
      command: "novel",
      subcommand: "start",
      options: { premise: PREMISE },
    });
    await second.waitForAck();
    expect(ephemeralText(second)).toEqual([
      "You already have 1 unfinished projects, the most allowed. Finish or cancel one first (see /novel list).",
    ]);
  });

  it("lets only one of two starts sent at the same moment through the limit, and opens one thread", async () => {
    world = await startWorld({ env: { FOLIO_MAX_PROJECTS_PER_USER: "1" } });
    const w = world;
    const start = () =>
      w.discord.sendCommand({
        user: w.author.id,
        command: "novel",
        subcommand: "start",
        options: { premise: PREMISE, scenes: 4, words: 4000 },
      });
    const both = await Promise.all([start(), start()]);
    await Promise.all(both.map((s) => s.waitForAck()));
    const refused = both.filter((s) => ephemeralText(s).some((t) => t.startsWith("You already have 1")));
    expect(refused).toHaveLength(1);
    const started = both.find((s) => !refused.includes(s))!;
    await started.waitForResponse((r) => r.kind === "edit-original");
    expect((await rows(w, "select count(*) as n from projects"))[0]).toEqual({ n: 1 });
    expect(w.discord.threads()).toHaveLength(1);
    // The row got its thread, and the scheduler runs it.
    const [row] = await rows<{ thread_id: string }>(
      w,
      "select t.thread_id, p.lease_owner from projects p join discord_threads t on t.project_id = p.id",
    );
    expect(row!.thread_id).toBe(w.discord.threads()[0]!.id);
    await waitForMessage(w.discord, row!.thread_id, (m) => titleOf(m).startsWith("📜 Outline ready"));
  });

  it("offers the caller's projects in autocomplete", async () => {
    world = await startWorld();
    const w = world;
    await startNovel(w, { title: "Breath of Glass" });
    const ac = await w.discord.sendAutocomplete({
      user: w.author.id,
      command: "novel",
      subcommand: "status",
      focused: "project",
      options: { project: "Glass" },
    });
    await ac.waitForAck();
    const choices = (ac.responses[0]!.body as { data: { choices: { name: string; value: string }[] } }).data
      .choices;
    expect(choices).toEqual([{ name: expect.stringContaining("#1 Breath of Glass"), value: "1" }]);
    const none = await w.discord.sendAutocomplete({
      user: w.other.id,
      command: "novel",
      subcommand: "status",
      focused: "project",
      options: { project: "" },
    });
    await none.waitForAck();
    expect((none.responses[0]!.body as { data: { choices: unknown[] } }).data.choices).toEqual([]);
  });
});

describe("Discord: resilience and safety", () => {
  it("posts a Retry button when a unit keeps failing, and Retry carries on from there", async () => {
    world = await startWorld({
      llm: { faults: { failWhenPromptIncludes: ["Build the world of this novel."] } },
      env: { FOLIO_LLM_MAX_RETRIES: "0", FOLIO_UNIT_ATTEMPTS: "2" },
    });
    const w = world;
    const { threadId } = await startNovel(w, { auto_approve: true });
    const alert = await waitForMessage(
      w.discord,
      threadId,
      (m) => titleOf(m) === "⚠️ Needs attention",
      20_000,
    );
    expect(JSON.stringify(alert.embeds)).toContain("World Modeling");
    expect(buttonIds(alert)).toEqual(["folio:retry:1"]);
    const refused = await w.discord.clickButton({
      user: w.other.id,
      channelId: threadId,
      messageId: alert.id,
      customId: "folio:retry:1",
    });
    await refused.waitForAck();
    expect(ephemeralText(refused)[0]).toContain("Only <@");
    w.llm.setFaults({});
    const retry = await w.discord.clickButton({
      user: w.author.id,
      channelId: threadId,
      messageId: alert.id,
      customId: "folio:retry:1",
    });
    await retry.waitForAck();
    await waitForMessage(
      w.discord,
      threadId,
      (m) => m.attachments.some((a) => a.filename.endsWith(".docx")),
      30_000,
    );
    expect(w.llm.log.filter((e) => e.schemaName === "high_concept")).toHaveLength(1);
  });

  it("keeps drafting through a gateway disconnect and REST 429s on progress edits, without duplicates", async () => {
    world = await startWorld({ llm: { latencyMs: 40 } });
    const w = world;
    const { threadId } = await startNovel(w, { scenes: 8, words: 8000, auto_approve: true });
    await w.discord.waitFor(
      () => w.discord.messages(threadId).some((m) => titleOf(m).startsWith("Scene Drafting")),
      20_000,
    );
    w.discord.inject429({
      method: "PATCH",
      pathPattern: /^\/channels\/\d+\/messages\/\d+$/,
      count: 3,
      retryAfterSec: 0.3,
    });
    w.discord.disconnectGateway({ resumable: true });
    const delivery = await waitForMessage(
      w.discord,
      threadId,
      (m) => m.attachments.some((a) => a.filename.endsWith(".docx")),
      60_000,
    );
    expect(delivery).toBeDefined();
    expect(w.discord.stats().resumes).toBe(1);
    expect(w.discord.stats().rateLimited).toBeGreaterThanOrEqual(1);
    const versions = await rows<{ n: number }>(
      w,
      "select scene_number, count(*) as n from scene_versions where stage = 'drafting' group by scene_number",
    );
    expect(versions).toHaveLength(8);
    expect(versions.every((v) => v.n === 1)).toBe(true);
    expect(w.discord.messages(threadId).filter((m) => titleOf(m).startsWith("Scene Drafting"))).toHaveLength(
      1,
    );
    expect(
      w.discord.messages(threadId).filter((m) => m.attachments.some((a) => a.filename.endsWith(".docx"))),
    ).toHaveLength(1);
    const status = await w.discord.sendCommand({
      user: w.author.id,
      channelId: threadId,
      command: "novel",
      subcommand: "status",
    });
    await status.waitForAck();
    expect(status.ackLatencyMs).toBeLessThan(3000);
  });

  it("posts a gate again after a restart when the bot died before posting it", async () => {
    world = await startWorld();
    const w = world;
    const { threadId } = await startNovel(w);
    const gate = await waitForMessage(w.discord, threadId, (m) => titleOf(m).startsWith("📜 Outline ready"));
    const noticeId = async () =>
      (
        await rows<{ notice_message_id: string | null }>(w, "select notice_message_id from discord_threads")
      )[0]!.notice_message_id;
    await w.discord.waitFor(async () => (await noticeId()) === gate.id);
    // As if the process had died between committing the gate and posting it:
    gate.deleted = true;
    await w.bot.engine.db.update(discordThreads).set({ noticeMessageId: null });
    // The periodic look leaves a gate reached moments ago to the process posting it...
    const gates = () => w.discord.messages(threadId).filter((m) => titleOf(m).startsWith("📜 Outline ready"));
    await w.bot.sink.repostMissingNotices(60_000);
    await w.bot.sink.flush();
    expect(gates()).toEqual([]);
    // ...and a restart posts it.
    await w.bot.sink.repostMissingNotices();
    const again = await waitForMessage(
      w.discord,
      threadId,
      (m) => titleOf(m).startsWith("📜 Outline ready") && m.id !== gate.id,
    );
    expect(buttonIds(again)).toEqual(["folio:approve:1", "folio:revise:1", "folio:cancel:1"]);
    await w.discord.waitFor(async () => (await noticeId()) === again.id);
    await w.bot.sink.repostMissingNotices();
    await w.bot.sink.flush();
    expect(
      w.discord.messages(threadId).filter((m) => titleOf(m).startsWith("📜 Outline ready")),
    ).toHaveLength(1);
  });

  it("posts a new progress message when the old one was deleted", async () => {
    world = await startWorld({ llm: { latencyMs: 60 } });
    const w = world;
    const { threadId } = await startNovel(w, { scenes: 8, words: 8000, auto_approve: true });
    const first = await waitForMessage(
      w.discord,
      threadId,
      (m) => titleOf(m).startsWith("Scene Drafting"),
      20_000,
    );
    first.deleted = true;
    const second = await waitForMessage(
      w.discord,
      threadId,
      (m) => titleOf(m).startsWith("Scene Drafting") && m.id !== first.id,
      30_000,
    );
    await w.discord.waitFor(
      () =>
        titleOf(w.discord.messages(threadId).find((m) => m.id === second.id)!) === "Scene Drafting — done",
      30_000,
    );
    expect((await rows(w, "select progress_message_id from discord_threads"))[0]).not.toEqual({
      progress_message_id: first.id,
    });
  });

  it("posts @everyone from a premise or the model without pinging anyone", async () => {
    world = await startWorld();
    const w = world;
    const { threadId } = await startNovel(w, {
      premise: "@everyone @here <@&123> a heist crew robs the moon's only bank.",
      title: "@everyone Heist",
    });
    await waitForMessage(w.discord, threadId, (m) => titleOf(m).startsWith("📜 Outline ready"));
    const all = w.discord.messages(threadId);
    expect(all.some((m) => JSON.stringify(m.embeds).includes("@everyone"))).toBe(true);
    for (const m of all) {
      expect(m.mention_everyone).toBe(false);
      expect(m.mention_roles).toEqual([]);
      expect(m.mentions).toEqual([]);
    }
    const sends = w.discord.calls.filter(
      (c) => c.method === "POST" && /^\/channels\/\d+\/messages$/.test(c.path),
    );
    for (const call of sends)
      expect((call.body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({
        parse: [],
        replied_user: false,
      });
  });
});

/**
 * Over 300 lines: one test per Discord behaviour the fake must reproduce, so a gap shows by name.
 *
 * Exercises the Discord fake with the real, unmodified discord.js client, so the other Discord tests can
 * trust it: if discord.js accepts these payloads, it will accept the ones the bot's tests provoke.
 */
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  type ChatInputCommandInteraction,
  Client,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  type Interaction,
  LabelBuilder,
  MessageFlags,
  ModalBuilder,
  PermissionFlagsBits,
  Routes,
  SlashCommandBuilder,
  TextInputBuilder,
  TextInputStyle,
} from "discord.js";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeDiscord, type FakeDiscordOptions, startFakeDiscord } from "./fakes/discord-server.js";

const OUTLINE_BYTES = Buffer.from("# Outline\n\n1. The keeper finds a letter.\n", "utf8");

const novelCommand = new SlashCommandBuilder()
  .setName("novel")
  .setDescription("Write a novel")
  .addSubcommand((s) =>
    s
      .setName("start")
      .setDescription("Start a novel")
      .addStringOption((o) =>
        o.setName("premise").setDescription("Premise").setRequired(true).setMaxLength(4000),
      )
      .addIntegerOption((o) => o.setName("scenes").setDescription("Scenes").setMinValue(3).setMaxValue(120))
      .addBooleanOption((o) => o.setName("auto_approve").setDescription("Skip the gates")),
  )
  .addSubcommand((s) =>
    s
      .setName("status")
      .setDescription("Show progress")
      .addStringOption((o) => o.setName("project").setDescription("Project").setAutocomplete(true)),
  );

/** What the test bot observed, so tests can assert on the discord.js side as well as the fake's. */
interface Seen {
  premise?: string;
  scenes?: number | null;
  canManage?: boolean;
  threadId?: string;
  statusInThread?: boolean;
  notes?: string;
  ownerId?: string;
  slowError?: unknown;
  duplicateError?: unknown;
  modalError?: unknown;
  errors: unknown[];
}

const open: Array<{ fake: FakeDiscord; client: Client }> = [];

afterEach(async () => {
  // destroy() first: closing the fake under a live client makes discord.js try to reconnect.
  for (const { fake, client } of open.splice(0)) {
    await client.destroy();
    await fake.close();
  }
});

async function connect(
  opts?: FakeDiscordOptions,
): Promise<{ fake: FakeDiscord; client: Client; seen: Seen }> {
  const fake = await startFakeDiscord(opts);
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
  open.push({ fake, client });
  const seen: Seen = { errors: [] };
  client.on(Events.InteractionCreate, (interaction) => {
    handle(client, interaction, seen).catch((error: unknown) => seen.errors.push(error));
  });
  // The listener must exist before login(): READY can arrive before login() resolves.
  const ready = once(client, Events.ClientReady);
  await client.login(fake.token);
  await ready;
  return { fake, client, seen };
}

/** A miniature bot covering every interaction shape Folio uses. */
async function handle(client: Client, i: Interaction, seen: Seen): Promise<void> {
  if (i.isChatInputCommand()) return handleCommand(client, i, seen);
  if (i.isAutocomplete()) return i.respond([{ name: "The Keeper", value: "p1" }]);
  if (i.isButton()) {
    if (i.customId.startsWith("revise:")) return i.showModal(reviseModal());
    if (i.user.id !== seen.ownerId) {
      await i.reply({ content: "Only the author can approve.", flags: MessageFlags.Ephemeral });
      return;
    }
    await i.update({ content: "Approved", components: [] });
    return;
  }
  if (i.isModalSubmit()) {
    seen.notes = i.fields.getTextInputValue("notes");
    await i.reply({ content: "Noted.", flags: MessageFlags.Ephemeral });
  }
}

async function handleCommand(client: Client, i: ChatInputCommandInteraction, seen: Seen): Promise<void> {
  switch (i.commandName === "novel" ? i.options.getSubcommand() : i.commandName) {
    case "start":
      return startNovel(i, seen);
    case "status":
      seen.statusInThread = i.channel?.isThread() ?? false;
      await i.reply({ content: "Drafting: 3/12 scenes", flags: MessageFlags.Ephemeral });
      return;
    case "slow":
      await sleep(450);
      await i.deferReply().catch((error: unknown) => {
        seen.slowError = error;
      });
      return;
    case "twice":
      await i.reply({ content: "first" });
      // discord.js refuses a second reply itself, so go to REST directly to reach the server's check.
      await client.rest
        .post(Routes.interactionCallback(i.id, i.token), {
          body: { type: 4, data: { content: "second" } },
          auth: false,
        })
        .catch((error: unknown) => {
          seen.duplicateError = error;
        });
      return;
    case "bigmodal":
      // builders would refuse this locally; raw REST shows the server enforcing the 4000-char input limit.
      await client.rest
        .post(Routes.interactionCallback(i.id, i.token), { body: oversizedModal(), auth: false })
        .catch((error: unknown) => {
          seen.modalError = error;
        });
      await i.reply({ content: "modal refused" });
      return;
    default:
      await i.reply({ content: "pong" });
  }
}

async function startNovel(i: ChatInputCommandInteraction, seen: Seen): Promise<void> {
  seen.premise = i.options.getString("premise", true);
  seen.scenes = i.options.getInteger("scenes");
  seen.canManage = i.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
  await i.deferReply();
  if (i.channel?.type !== ChannelType.GuildText) throw new Error("expected a text channel");
  const thread = await i.channel.threads.create({ name: `Novel: ${seen.premise.slice(0, 40)}` });
  seen.threadId = thread.id;
  const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId("revise:1").setLabel("Revise").setStyle(ButtonStyle.Secondary),
    new ButtonBuilder().setCustomId("approve:1").setLabel("Approve").setStyle(ButtonStyle.Success),
  );
  const message = await thread.send({
    content: "Outline draft",
    embeds: [new EmbedBuilder().setTitle("Outline").setDescription("Act I: the letter.")],
    components: [row],
    files: [new AttachmentBuilder(OUTLINE_BYTES, { name: "outline.md" })],
    allowedMentions: { parse: [] },
  });
  await message.edit({ content: "Outline ready" });
  await i.editReply({ content: `Started in <#${thread.id}>`, allowedMentions: { parse: [] } });
}

function reviseModal(): ModalBuilder {
  return new ModalBuilder()
    .setCustomId("revise-modal:1")
    .setTitle("Revise the outline")
    .addLabelComponents(
      new LabelBuilder()
        .setLabel("Notes")
        .setTextInputComponent(
          new TextInputBuilder().setCustomId("notes").setStyle(TextInputStyle.Paragraph).setMaxLength(4000),
        ),
    );
}

function oversizedModal() {
  const input = { type: 4, custom_id: "notes", label: "Notes", style: 2, max_length: 4001 };
  return {
    type: 9,
    data: { custom_id: "m", title: "Too big", components: [{ type: 1, components: [input] }] },
  };
}

async function apiError(promise: Promise<unknown>): Promise<DiscordAPIError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DiscordAPIError);
  return error as DiscordAPIError;
}

describe("fake Discord with a real discord.js client", () => {
  it("logs in, caches the guild and registers guild commands", async () => {
    const { fake, client } = await connect();
    const guild = client.guilds.cache.get(fake.guildId);
    expect(guild?.available).toBe(true);
    expect(guild?.channels.cache.get(fake.channelId)?.name).toBe("general");
    expect(client.user?.id).toBe(fake.botUserId);

    const registered = await client.application!.commands.set([novelCommand.toJSON()], fake.guildId);
    const fetched = await client.application!.commands.fetch({ guildId: fake.guildId });
    expect([...fetched.values()].map((c) => c.name)).toEqual(["novel"]);
    expect(fetched.first()?.options.map((o) => o.name)).toEqual(["start", "status"]);
    // Re-registering keeps the command's id, as Discord's bulk overwrite does.
    const again = await client.application!.commands.set([novelCommand.toJSON()], fake.guildId);
    expect(again.first()?.id).toBe(registered.first()?.id);
    expect(fake.commands(fake.guildId)).toHaveLength(1);
  });

  it("runs a command, thread, uploads, buttons and a modal end to end", async () => {
    const { fake, client, seen } = await connect();
    await client.application!.commands.set([novelCommand.toJSON()], fake.guildId);
    const alice = fake.addMember({ username: "alice", permissions: PermissionFlagsBits.ManageGuild });
    const bob = fake.addMember({ username: "bob" });
    seen.ownerId = alice.id;

    const start = await fake.sendCommand({
      user: alice.id,
      command: "novel",
      subcommand: "start",
      options: { premise: "A lighthouse keeper receives letters from the sea.", scenes: 12 },
    });
    await start.waitForAck();
    expect(start.ackType).toBe(5);
    expect(start.ackLatencyMs).toBeLessThan(3000);
    const reply = await start.waitForResponse((r) => r.kind === "edit-original");
    expect(reply.body.content).toBe(`Started in <#${seen.threadId}>`);
    expect(seen).toMatchObject({
      scenes: 12,
      canManage: true,
      premise: expect.stringContaining("lighthouse"),
    });
    expect(fake.messages(fake.channelId)[0]).toMatchObject({
      content: reply.body.content,
      flags: 0,
      editCount: 1,
    });

    const [thread] = fake.threads();
    expect(thread).toMatchObject({ id: seen.threadId, type: 11, parent_id: fake.channelId });
    const [outline] = fake.messages(thread!.id);
    expect(outline).toMatchObject({
      content: "Outline ready",
      editCount: 1,
      allowed_mentions: { parse: [] },
    });
    expect(outline!.embeds[0]).toMatchObject({ title: "Outline" });
    expect(outline!.attachments[0]).toMatchObject({ filename: "outline.md", size: OUTLINE_BYTES.length });
    expect(outline!.attachments[0]!.data.equals(OUTLINE_BYTES)).toBe(true);
    const served = Buffer.from(await (await fetch(outline!.attachments[0]!.url)).arrayBuffer());
    expect(served.equals(OUTLINE_BYTES)).toBe(true);

    // Someone else pressing the gate button gets an ephemeral refusal, and nothing changes.
    const refused = await fake.clickButton({
      user: bob.id,
      channelId: thread!.id,
      messageId: outline!.id,
      customId: "approve:1",
    });
    expect((await refused.waitForResponse()).flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    expect(fake.messages(thread!.id).find((m) => m.visibleTo === bob.id)?.content).toBe(
      "Only the author can approve.",
    );

    const revise = await fake.clickButton({
      user: alice.id,
      channelId: thread!.id,
      messageId: outline!.id,
      customId: "revise:1",
    });
    await revise.waitForAck();
    expect(revise.ackType).toBe(9);
    const submitted = await fake.submitModal({
      user: alice.id,
      channelId: thread!.id,
      customId: "revise-modal:1",
      fields: { notes: "More storms in act two." },
      messageId: outline!.id,
    });
    await submitted.waitForAck();
    expect(seen.notes).toBe("More storms in act two.");

    const approve = await fake.clickButton({
      user: alice.id,
      channelId: thread!.id,
      messageId: outline!.id,
      customId: "approve:1",
    });
    await approve.waitForAck();
    expect(approve.ackType).toBe(7);
    expect(fake.messages(thread!.id)[0]).toMatchObject({ content: "Approved", components: [], editCount: 2 });

    const status = await fake.sendCommand({
      user: alice.id,
      channelId: thread!.id,
      command: "novel",
      subcommand: "status",
    });
    expect((await status.waitForResponse()).flags).toBe(MessageFlags.Ephemeral);
    expect(seen.statusInThread).toBe(true);

    const complete = await fake.sendAutocomplete({
      user: alice.id,
      channelId: thread!.id,
      command: "novel",
      subcommand: "status",
      focused: "project",
      options: { project: "The" },
    });
    expect((await complete.waitForResponse()).body).toEqual({
      type: 8,
      data: { choices: [{ name: "The Keeper", value: "p1" }] },
    });

    expect(seen.errors).toEqual([]);
    expect(fake.stats().rejected).toEqual([]);
  });

  it("expires late acknowledgements and rejects duplicate ones", async () => {
    const { fake, seen } = await connect({ ackTimeoutMs: 300 });
    const user = fake.addMember({ username: "carol" });

    const slow = await fake.sendCommand({ user: user.id, command: "slow" });
    await expect(slow.waitForAck()).rejects.toThrow(/expired/);
    const late = await fake.waitFor(() => seen.slowError as DiscordAPIError | undefined);
    expect(late).toBeInstanceOf(DiscordAPIError);
    expect(late.code).toBe(10062);
    expect(slow.expired).toBe(true);

    const twice = await fake.sendCommand({ user: user.id, command: "twice" });
    const duplicate = await fake.waitFor(() => seen.duplicateError as DiscordAPIError | undefined);
    expect(duplicate.code).toBe(40060);
    expect(twice.responses).toHaveLength(1);
    expect(twice.responses[0]?.body.data).toMatchObject({ content: "first" });

    expect(fake.stats()).toMatchObject({ expiredInteractions: 1, duplicateAcks: 1 });
    expect(seen.errors).toEqual([]);
  });

  it("rejects payloads over Discord's limits", async () => {
    const { fake, client, seen } = await connect();
    const general = client.channels.cache.get(fake.channelId);
    if (!general?.isSendable()) throw new Error("general should be sendable");

    const long = await apiError(general.send("x".repeat(2001)));
    expect([long.status, long.code]).toEqual([400, 50035]);
    expect(long.message).toContain("content[BASE_TYPE_MAX_LENGTH]");

    const embed = await apiError(general.send({ embeds: [{ description: "y".repeat(4097) }] }));
    expect(embed.code).toBe(50035);

    const customId = await apiError(
      client.rest.post(Routes.channelMessages(fake.channelId), {
        body: {
          components: [
            { type: 1, components: [{ type: 2, style: 1, label: "Go", custom_id: "z".repeat(101) }] },
          ],
        },
      }),
    );
    expect(customId.code).toBe(50035);

    const upload = await apiError(
      general.send({ files: [{ attachment: Buffer.alloc(10 * 1024 * 1024 + 1), name: "big.bin" }] }),
    );
    expect([upload.status, upload.code]).toEqual([413, 40005]);

    const unknown = await apiError(client.rest.get("/nowhere"));
    expect([unknown.status, unknown.code]).toEqual([404, 0]);
    expect(fake.messages(fake.channelId)).toEqual([]);

    const user = fake.addMember({ username: "erin" });
    const modal = await fake.sendCommand({ user: user.id, command: "bigmodal" });
    await modal.waitForAck();
    expect(modal.ackType).toBe(4);
    expect((seen.modalError as DiscordAPIError).code).toBe(50035);

    expect(fake.stats().rejected.map((r) => r.code)).toEqual([50035, 50035, 50035, 40005, 0, 50035]);
  });

  it("lets discord.js retry through an injected 429", async () => {
    const { fake, client } = await connect();
    const general = client.channels.cache.get(fake.channelId);
    if (!general?.isSendable()) throw new Error("general should be sendable");
    const message = await general.send("draft");

    fake.inject429({
      method: "PATCH",
      pathPattern: /^\/channels\/\d+\/messages\/\d+$/,
      count: 1,
      retryAfterSec: 0.2,
    });
    await message.edit("final");

    const patches = fake.calls.filter((c) => c.method === "PATCH");
    expect(patches.map((c) => c.status)).toEqual([429, 200]);
    expect(fake.messages(fake.channelId)[0]).toMatchObject({ content: "final", editCount: 1 });
    expect(fake.stats()).toMatchObject({ rateLimited: 1, rejected: [] });
  });

  it("resumes after a resumable gateway disconnect and replays what was missed", async () => {
    const { fake } = await connect();
    const user = fake.addMember({ username: "dave" });

    fake.disconnectGateway({ resumable: true });
    // Dispatched while the client is away: it must arrive through the RESUME replay.
    const missed = await fake.sendCommand({ user: user.id, command: "ping" });
    await fake.waitFor(() => fake.stats().resumes === 1);
    await missed.waitForAck();

    const after = await fake.sendCommand({ user: user.id, command: "ping" });
    expect((await after.waitForResponse()).body.data).toMatchObject({ content: "pong" });
    expect(fake.stats()).toMatchObject({ identifies: 1, resumes: 1 });
  });
});

import { PermissionFlagsBits, ThreadAutoArchiveDuration, type ThreadChannel } from "discord.js";
import { attachThread, setStatusMessage } from "../../src/discord/threads";
import { statusCard, threadName, workingTitle } from "../../src/discord/views";
import { abandonSetup, claimNewProject, finishSetup, parseNewProject } from "../../src/pipeline/actions";
import { progressOf } from "../../src/pipeline/store";
import { Refusal } from "../shared";
import type { Subcommand } from "./types";

const THREAD_PERMISSIONS = [
  PermissionFlagsBits.CreatePublicThreads,
  PermissionFlagsBits.SendMessagesInThreads,
];

export default {
  data: (s) =>
    s
      .setName("start")
      .setDescription("Start a novel from a premise, in a new thread")
      .addStringOption((o) =>
        o
          .setName("premise")
          .setDescription("What the story is about (10–4000 characters)")
          .setRequired(true)
          .setMinLength(10)
          .setMaxLength(4000),
      )
      .addStringOption((o) => o.setName("title").setDescription("Working title").setMaxLength(200))
      .addStringOption((o) =>
        o.setName("genre").setDescription("Genre, e.g. literary thriller").setMaxLength(100),
      )
      .addStringOption((o) =>
        o.setName("voice").setDescription("Voice and style of the prose").setMaxLength(500),
      )
      .addIntegerOption((o) =>
        o
          .setName("scenes")
          .setDescription("Number of scenes (3–120, default 50)")
          .setMinValue(3)
          .setMaxValue(120),
      )
      .addIntegerOption((o) =>
        o
          .setName("words")
          .setDescription("Length of the book in words (2,000–200,000, default 60,000)")
          .setMinValue(2000)
          .setMaxValue(200_000),
      )
      .addBooleanOption((o) => o.setName("auto_approve").setDescription("Skip both approval gates"))
      .addBooleanOption((o) =>
        o
          .setName("chapters")
          .setDescription("Post each chapter in the thread as it is written (default: yes)"),
      ),

  async execute(i, deps) {
    const request = parseNewProject({
      premise: i.options.getString("premise", true),
      title: i.options.getString("title") ?? undefined,
      genre: i.options.getString("genre") ?? undefined,
      voice: i.options.getString("voice") ?? undefined,
      scenes: i.options.getInteger("scenes") ?? undefined,
      words: i.options.getInteger("words") ?? undefined,
      autoApprove: i.options.getBoolean("auto_approve") ?? false,
      chapters: i.options.getBoolean("chapters") ?? true,
    });
    if (!request.ok) throw new Refusal(request.message);
    const channel = i.channel;
    if (!channel || channel.isThread() || !("threads" in channel)) {
      throw new Refusal("Start a novel in a text channel: Folio opens the novel's own thread there.");
    }
    if (!i.appPermissions.has(THREAD_PERMISSIONS)) {
      throw new Refusal(
        "I cannot open a thread here: I need Create Public Threads and Send Messages in Threads in this channel.",
      );
    }
    // The row first, counted against the owner's limit in the same transaction and held back from
    // the scheduler; then the thread; then the row gets its thread and is let go.
    const claimant = deps.scheduler.owner;
    const claimed = await claimNewProject(
      deps.db,
      request.value,
      { ownerId: i.user.id, host: "discord" },
      deps.config.FOLIO_MAX_PROJECTS_PER_USER,
      claimant,
    );
    if (!claimed.ok) throw new Refusal(claimed.message);
    const { project } = claimed;
    let thread: ThreadChannel;
    try {
      await i.deferReply();
      thread = await channel.threads.create({
        name: threadName(workingTitle(request.value.title, request.value.premise)),
        autoArchiveDuration: ThreadAutoArchiveDuration.OneWeek,
        reason: "Folio novel",
      });
    } catch {
      await abandonSetup(deps.db, project.id, claimant);
      throw new Refusal(
        "I could not open a thread here: I need Create Public Threads and Send Messages in Threads in this channel.",
      );
    }
    await finishSetup(deps.db, project.id, claimant, (tx) =>
      attachThread(tx, project.id, { guildId: thread.guildId, channelId: channel.id, threadId: thread.id }),
    );
    const title = workingTitle(request.value.title, request.value.premise);
    const card = await deps.post(thread.id, {
      embeds: [statusCard(project, await progressOf(deps.db, project))],
    });
    await setStatusMessage(deps.db, project.id, card.id);
    await i.editReply(
      `Started **${title}** (project #${project.id}) in ${thread}. Every stage is posted there.`,
    );
    deps.scheduler.wake();
  },
} satisfies Subcommand;

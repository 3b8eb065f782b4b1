import {
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type InteractionEditReplyOptions,
  MessageFlags,
  type ModalSubmitInteraction,
  PermissionFlagsBits,
  ThreadAutoArchiveDuration,
} from "discord.js";
import { and, desc, eq, like, or } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client";
import { type Project, projects } from "../db/schema";
import type { Config } from "../src/config";
import {
  draftGateButtons,
  exportAttachments,
  LIMITS,
  outlineGateButtons,
  parseCustomId,
  redraftModal,
  reviseModal,
  statusCard,
  threadName,
  workingTitle,
} from "../src/discord/views";
import { EXPORT_FORMATS, type ExportFormat } from "../src/export/index";
import {
  type ActionResult,
  activeProjectCount,
  approve,
  cancel,
  createProject,
  describeStatus,
  parseNewProject,
  pause,
  requestRedraft,
  resume,
  retry,
  reviseOutline,
} from "../src/pipeline/actions";
import { renderExport } from "../src/pipeline/manuscript";
import type { Scheduler } from "../src/pipeline/scheduler";
import { getProject, progressOf } from "../src/pipeline/store";
import { truncate } from "../src/text/discord";

export interface HandlerDeps {
  db: Db;
  config: Config;
  scheduler: Scheduler;
  /** The upload limit of the channel a file goes to, in bytes. */
  uploadLimit: (channelId: string) => Promise<number>;
}

/** Something the user should be told privately; nothing has changed. */
class Refusal extends Error {}

const ephemeral = (content: string) => ({ content, flags: MessageFlags.Ephemeral as const });

const THREAD_PERMISSIONS = [
  PermissionFlagsBits.CreatePublicThreads,
  PermissionFlagsBits.SendMessagesInThreads,
];

/** As many whole lines as fit in `limit` characters, with a note of how many were left out. */
function fitLines(lines: string[], limit: number): string {
  const kept: string[] = [];
  let length = 0;
  for (const line of lines) {
    if (length + line.length + 40 > limit) {
      kept.push(`…and ${lines.length - kept.length} more.`);
      break;
    }
    kept.push(line);
    length += line.length + 1;
  }
  return kept.join("\n");
}

/**
 * Answers every `/novel` interaction: slash commands, autocomplete, gate buttons and modals. Each one
 * is acknowledged at once (reply, deferral, update or modal), refusals are ephemeral and say what to do.
 */
export class NovelHandlers {
  constructor(private readonly deps: HandlerDeps) {}

  async handle(interaction: Interaction): Promise<void> {
    try {
      if (interaction.isAutocomplete()) return await this.autocomplete(interaction);
      if (!interaction.inCachedGuild() && !interaction.inGuild()) {
        if (interaction.isRepliable())
          await interaction.reply(ephemeral("Folio works inside a server, not in direct messages."));
        return;
      }
      if (interaction.isChatInputCommand() && interaction.commandName === "novel")
        return await this.command(interaction);
      if (interaction.isButton()) return await this.button(interaction);
      if (interaction.isModalSubmit()) return await this.modal(interaction);
    } catch (error) {
      await this.answerError(interaction, error);
    }
  }

  /**
   * Refusals and failures are private. After a public deferral the first follow-up would take the
   * deferred reply's place (and its visibility), so the public "thinking…" reply is removed first.
   */
  private async answerError(interaction: Interaction, error: unknown): Promise<void> {
    if (!interaction.isRepliable()) return;
    const message =
      error instanceof Refusal
        ? error.message
        : "Something went wrong on Folio's side. Try again in a moment; /novel status shows where the project stands.";
    if (interaction.deferred && !interaction.ephemeral) await interaction.deleteReply().catch(() => {});
    if (interaction.deferred || interaction.replied) {
      await interaction.followUp(ephemeral(message)).catch(() => {});
    } else {
      await interaction.reply(ephemeral(message)).catch(() => {});
    }
  }

  // ----- slash commands -------------------------------------------------------------------------------

  private async command(i: ChatInputCommandInteraction): Promise<void> {
    const sub = i.options.getSubcommand();
    switch (sub) {
      case "start":
        return this.start(i);
      case "list":
        return this.list(i);
      case "status": {
        const project = this.resolve(i);
        await i.reply({
          embeds: [statusCard(project, progressOf(this.deps.db, project))],
          flags: MessageFlags.Ephemeral,
        });
        return;
      }
      case "export":
        return this.export(i, this.resolve(i), (i.options.getString("format") ?? "docx") as ExportFormat);
      case "approve":
        return this.act(i, (p) => approve(this.deps.db, p.id));
      case "revise":
        return this.act(i, (p) => reviseOutline(this.deps.db, p.id, i.options.getString("notes", true)));
      case "redraft":
        return this.act(i, (p) =>
          requestRedraft(
            this.deps.db,
            p.id,
            i.options.getInteger("scene", true),
            i.options.getString("notes") ?? "",
          ),
        );
      case "pause":
        return this.act(i, (p) => pause(this.deps.db, p.id));
      case "resume":
        return this.act(i, (p) => resume(this.deps.db, p.id));
      case "retry":
        return this.act(i, (p) => retry(this.deps.db, p.id));
      case "cancel":
        return this.act(i, (p) => {
          const result = cancel(this.deps.db, p.id);
          if (result.ok) this.deps.scheduler.abort(p.id);
          return result;
        });
      default:
        throw new Refusal(`Unknown subcommand "${sub}".`);
    }
  }

  private async start(i: ChatInputCommandInteraction): Promise<void> {
    const request = parseNewProject({
      premise: i.options.getString("premise", true),
      title: i.options.getString("title") ?? undefined,
      genre: i.options.getString("genre") ?? undefined,
      voice: i.options.getString("voice") ?? undefined,
      scenes: i.options.getInteger("scenes") ?? undefined,
      words: i.options.getInteger("words") ?? undefined,
      autoApprove: i.options.getBoolean("auto_approve") ?? false,
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
    const max = this.deps.config.FOLIO_MAX_PROJECTS_PER_USER;
    if (activeProjectCount(this.deps.db, i.user.id) >= max) {
      throw new Refusal(
        `You already have ${max} unfinished projects, the most allowed. Finish or cancel one first (see /novel list).`,
      );
    }
    await i.deferReply();
    const title = workingTitle(request.value.title, request.value.premise);
    const thread = await channel.threads
      .create({
        name: threadName(title),
        autoArchiveDuration: ThreadAutoArchiveDuration.OneWeek,
        reason: "Folio novel",
      })
      .catch(() => {
        throw new Refusal(
          "I could not open a thread here: I need Create Public Threads and Send Messages in Threads in this channel.",
        );
      });
    const project = createProject(this.deps.db, request.value, {
      ownerId: i.user.id,
      guildId: i.guildId,
      channelId: channel.id,
      threadId: thread.id,
    });
    await thread.send({ embeds: [statusCard(project, progressOf(this.deps.db, project))] });
    await i.editReply(
      `Started **${title}** (project #${project.id}) in ${thread}. Every stage is posted there.`,
    );
    this.deps.scheduler.wake();
  }

  private async list(i: ChatInputCommandInteraction): Promise<void> {
    const mine = this.deps.db
      .select()
      .from(projects)
      .where(and(eq(projects.ownerId, i.user.id), eq(projects.guildId, i.guildId!)))
      .orderBy(desc(projects.id))
      .limit(25)
      .all();
    const lines = mine.map(
      (p) =>
        `**#${p.id}** ${truncate(p.title ?? "Untitled", 60)} — ${describeStatus(p)}${p.threadId ? ` · <#${p.threadId}>` : ""}`,
    );
    const shown = fitLines(lines, LIMITS.content);
    await i.reply(
      ephemeral(shown || "You have no projects in this server yet. Start one with /novel start."),
    );
  }

  /** Runs an action that changes a project, after the authority check; the outcome is one reply. */
  private async act(i: ChatInputCommandInteraction, action: (p: Project) => ActionResult): Promise<void> {
    const project = this.resolve(i);
    this.authorize(i, project);
    const result = action(project);
    if (!result.ok) throw new Refusal(result.message);
    this.deps.scheduler.wake();
    await i.reply({ content: `Project #${project.id}: ${result.message}` });
  }

  private async export(
    i: ChatInputCommandInteraction | ButtonInteraction,
    project: Project,
    format: ExportFormat,
  ): Promise<void> {
    if (!EXPORT_FORMATS.includes(format)) throw new Refusal(`Choose a format: ${EXPORT_FORMATS.join(", ")}.`);
    await i.deferReply();
    const files = await renderExport(this.deps.db, project, this.deps.config.FOLIO_AUTHOR_NAME, format);
    const note =
      files.missing.length > 0
        ? ` This is a partial manuscript: scenes ${files.missing.join(", ")} are not written yet (see the report).`
        : "";
    const attached = exportAttachments(files, await this.deps.uploadLimit(i.channelId!), project.id);
    const payload: InteractionEditReplyOptions =
      "files" in attached
        ? { content: `**${files.title}** as ${format}, with its report.${note}`, files: attached.files }
        : { content: `The ${format} file cannot be posted: ${attached.tooLarge}` };
    await i.editReply(payload);
  }

  // ----- autocomplete ---------------------------------------------------------------------------------

  private async autocomplete(i: AutocompleteInteraction): Promise<void> {
    const typed = i.options.getFocused().replace(/^#/, "").trim();
    const rows = this.deps.db
      .select()
      .from(projects)
      .where(
        and(
          eq(projects.ownerId, i.user.id),
          i.guildId ? eq(projects.guildId, i.guildId) : undefined,
          typed ? or(like(projects.title, `%${typed}%`), eq(projects.id, Number(typed) || -1)) : undefined,
        ),
      )
      .orderBy(desc(projects.id))
      .limit(25)
      .all();
    await i.respond(
      rows.map((p) => ({
        name: `#${p.id} ${p.title ?? "Untitled"} — ${describeStatus(p)}`.slice(0, 100),
        value: String(p.id),
      })),
    );
  }

  // ----- buttons and modals ---------------------------------------------------------------------------

  private async button(i: ButtonInteraction): Promise<void> {
    const parsed = parseCustomId(i.customId);
    if (!parsed) throw new Refusal("This button is not Folio's.");
    const project = this.projectInGuild(parsed.projectId, i.guildId);
    if (parsed.action === "export-draft") return this.export(i, project, "docx");
    this.authorize(i, project);
    switch (parsed.action) {
      case "approve":
        return this.gateButton(i, project, "outline_gate", () =>
          approve(this.deps.db, project.id, "outline_gate"),
        );
      case "start-revision":
        return this.gateButton(i, project, "draft_gate", () =>
          approve(this.deps.db, project.id, "draft_gate"),
        );
      case "cancel":
        return this.gateButton(i, project, "outline_gate", () => {
          const result = cancel(this.deps.db, project.id, "outline_gate");
          if (result.ok) this.deps.scheduler.abort(project.id);
          return result;
        });
      case "retry":
        return this.gateButton(i, project, null, () => retry(this.deps.db, project.id));
      case "revise":
        this.expectWaiting(project, "outline_gate");
        return i.showModal(reviseModal(project.id));
      case "redraft":
        this.expectWaiting(project, "draft_gate");
        return i.showModal(redraftModal(project.id, project.sceneCount));
      default:
        throw new Refusal("This button does nothing here.");
    }
  }

  /** A gate button: one transition, the buttons disabled in the same response, refusals ephemeral. */
  private async gateButton(
    i: ButtonInteraction,
    project: Project,
    gate: "outline_gate" | "draft_gate" | null,
    action: () => ActionResult,
  ): Promise<void> {
    const result = action();
    if (!result.ok) throw new Refusal(result.message);
    this.deps.scheduler.wake();
    const components =
      gate === "outline_gate"
        ? outlineGateButtons(project.id, true)
        : gate === "draft_gate"
          ? draftGateButtons(project.id, true)
          : [];
    await i.update({ components });
    await i.followUp({ content: `${result.message} (by ${i.user})` });
  }

  private async modal(i: ModalSubmitInteraction): Promise<void> {
    const parsed = parseCustomId(i.customId);
    if (!parsed) throw new Refusal("This form is not Folio's.");
    const project = this.projectInGuild(parsed.projectId, i.guildId);
    this.authorize(i, project);
    let result: ActionResult;
    if (parsed.action === "revise-submit") {
      result = reviseOutline(this.deps.db, project.id, i.fields.getTextInputValue("notes"));
    } else if (parsed.action === "redraft-submit") {
      const scene = z.coerce.number().int().safeParse(i.fields.getTextInputValue("scene").trim());
      if (!scene.success)
        throw new Refusal(`The scene number must be a whole number from 1 to ${project.sceneCount}.`);
      result = requestRedraft(
        this.deps.db,
        project.id,
        scene.data,
        i.fields.getTextInputValue("notes") ?? "",
      );
    } else {
      throw new Refusal("This form does nothing here.");
    }
    if (!result.ok) throw new Refusal(result.message);
    this.deps.scheduler.wake();
    const gate =
      parsed.action === "revise-submit"
        ? outlineGateButtons(project.id, true)
        : draftGateButtons(project.id, true);
    if (i.isFromMessage()) {
      await i.update({ components: gate });
      await i.followUp({ content: `${result.message} (by ${i.user})` });
    } else {
      await i.reply({ content: result.message });
    }
  }

  // ----- projects and authority -----------------------------------------------------------------------

  /** The `project` option, or the project whose thread this is. */
  private resolve(i: ChatInputCommandInteraction): Project {
    const option = i.options.getString("project");
    if (option) {
      const id = Number(option.replace(/^#/, "").trim());
      if (!Number.isInteger(id) || id <= 0)
        throw new Refusal(`"${option}" is not a project number; pick one from the list.`);
      return this.projectInGuild(id, i.guildId);
    }
    const inThread = i.channel?.isThread()
      ? this.deps.db.select().from(projects).where(eq(projects.threadId, i.channelId)).get()
      : undefined;
    if (!inThread)
      throw new Refusal("Which project? Use the project option, or run this in the project's thread.");
    return inThread;
  }

  private projectInGuild(id: number, guildId: string | null): Project {
    const project = getProject(this.deps.db, id);
    if (!project || project.guildId !== guildId)
      throw new Refusal(`There is no project #${id} in this server.`);
    return project;
  }

  /** Only the owner, or a member with Manage Server, may change a project. */
  private authorize(
    i: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction,
    project: Project,
  ): void {
    if (project.ownerId === i.user.id) return;
    if (i.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return;
    throw new Refusal(
      `Only <@${project.ownerId}> or a member with Manage Server can change project #${project.id}.`,
    );
  }

  private expectWaiting(project: Project, gate: "outline_gate" | "draft_gate"): void {
    const fresh = getProject(this.deps.db, project.id)!;
    if (fresh.status !== "waiting" || fresh.stage !== gate) {
      throw new Refusal(`That gate has already been passed: the project is ${describeStatus(fresh)}.`);
    }
  }
}

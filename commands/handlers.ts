import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type ModalSubmitInteraction,
  PermissionFlagsBits,
} from "discord.js";
import { z } from "zod";
import type { Project } from "../db/schema";
import {
  draftGateButtons,
  outlineGateButtons,
  parseCustomId,
  redraftModal,
  reviseModal,
} from "../src/discord/views";
import {
  type ActionResult,
  approve,
  cancel,
  describeStatus,
  requestRedraft,
  retry,
  reviseOutline,
} from "../src/pipeline/actions";
import { getProject } from "../src/pipeline/store";
import { autocompleteProject } from "./novel/autocomplete";
import { subcommands } from "./novel/index";
import { ephemeral, type HandlerDeps, postExport, projectInGuild, Refusal } from "./shared";

export type { HandlerDeps } from "./shared";

/**
 * Answers every `/novel` interaction: slash commands, autocomplete, gate buttons and modals. Each one
 * is acknowledged at once (reply, deferral, update or modal), refusals are ephemeral and say what to do.
 */
export class NovelHandlers {
  constructor(private readonly deps: HandlerDeps) {}

  async handle(interaction: Interaction): Promise<void> {
    try {
      if (interaction.isAutocomplete()) return await autocompleteProject(interaction, this.deps);
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

  private async command(i: ChatInputCommandInteraction): Promise<void> {
    const sub = i.options.getSubcommand();
    const subcommand = subcommands.get(sub);
    if (!subcommand) throw new Refusal(`Unknown subcommand "${sub}".`);
    return subcommand.execute(i, this.deps);
  }

  // ----- buttons and modals ---------------------------------------------------------------------------

  private async button(i: ButtonInteraction): Promise<void> {
    const parsed = parseCustomId(i.customId);
    if (!parsed) throw new Refusal("This button is not Folio's.");
    const project = projectInGuild(this.deps, parsed.projectId, i.guildId);
    if (parsed.action === "export-draft") return postExport(i, project, "docx", this.deps);
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
    const project = projectInGuild(this.deps, parsed.projectId, i.guildId);
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

  /** Only the owner, or a member with Manage Server, may change a project. */
  private authorize(i: ButtonInteraction | ModalSubmitInteraction, project: Project): void {
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

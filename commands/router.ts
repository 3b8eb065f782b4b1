import type {
  ButtonInteraction,
  ChatInputCommandInteraction,
  Interaction,
  ModalSubmitInteraction,
} from "discord.js";
import { parseCustomId } from "../src/discord/views";
import { guarded, requireAuthority } from "./authority";
import { COMPONENTS, type ComponentHandler } from "./components";
import { autocompleteProject } from "./novel/autocomplete";
import { subcommands } from "./novel/index";
import { ephemeral, type HandlerDeps, projectInGuild, Refusal } from "./shared";

export type { HandlerDeps } from "./shared";

/**
 * Answers every `/novel` interaction: slash commands, autocomplete, gate buttons and modals. Each one
 * is acknowledged at once (reply, deferral, update or modal), refusals are ephemeral and say what to do.
 */
export async function routeInteraction(interaction: Interaction, deps: HandlerDeps): Promise<void> {
  try {
    if (interaction.isAutocomplete()) return await autocompleteProject(interaction, deps);
    if (!interaction.inCachedGuild() && !interaction.inGuild()) {
      if (interaction.isRepliable())
        await interaction.reply(ephemeral("Folio works inside a server, not in direct messages."));
      return;
    }
    if (interaction.isChatInputCommand() && interaction.commandName === "novel")
      return await subcommand(interaction, deps);
    if (interaction.isButton() || interaction.isModalSubmit()) return await component(interaction, deps);
  } catch (error) {
    await answerError(interaction, error);
  }
}

async function subcommand(i: ChatInputCommandInteraction, deps: HandlerDeps): Promise<void> {
  const name = i.options.getSubcommand();
  const sub = subcommands.get(name);
  if (!sub) throw new Refusal(`Unknown subcommand "${name}".`);
  return sub.execute(i, deps);
}

/** A button or form: its project from the custom id, then the table's handler for its action. */
async function component(i: ButtonInteraction | ModalSubmitInteraction, deps: HandlerDeps): Promise<void> {
  const isButton = i.isButton();
  const parsed = parseCustomId(i.customId);
  if (!parsed) throw new Refusal(isButton ? "This button is not Folio's." : "This form is not Folio's.");
  const project = await projectInGuild(deps, parsed.projectId, i.guildId);
  const entry: ComponentHandler = COMPONENTS[parsed.action];
  if (i.isButton() && entry.kind === "button") return guarded(entry)(i, project, deps);
  if (i.isModalSubmit() && entry.kind === "modal") return guarded(entry)(i, project, deps);
  // A button carrying a form's action, or a form a button's: refused like any change, after the check.
  return requireAuthority(async () => {
    throw new Refusal(isButton ? "This button does nothing here." : "This form does nothing here.");
  })(i, project, deps);
}

/**
 * Refusals and failures are private. After a public deferral the first follow-up would take the
 * deferred reply's place (and its visibility), so the public "thinking…" reply is removed first.
 */
async function answerError(interaction: Interaction, error: unknown): Promise<void> {
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

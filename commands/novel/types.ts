import type { ChatInputCommandInteraction, SlashCommandSubcommandBuilder } from "discord.js";
import type { Project } from "../../db/schema";
import type { ActionResult } from "../../src/pipeline/actions";
import { requireAuthority } from "../authority";
import { type HandlerDeps, type ProjectHandler, resolveProject, settle } from "../shared";

/** One `/novel` subcommand: its part of the command's definition, and what it does. */
export interface Subcommand {
  data: (s: SlashCommandSubcommandBuilder) => SlashCommandSubcommandBuilder;
  execute(i: ChatInputCommandInteraction, deps: HandlerDeps): Promise<void>;
}

/** The `project` option that every subcommand about one project ends with. */
export const projectOption = (s: SlashCommandSubcommandBuilder) =>
  s.addStringOption((o) =>
    o
      .setName("project")
      .setDescription("Which of your projects (defaults to this thread's project)")
      .setAutocomplete(true)
      .setMaxLength(100),
  );

/** Runs `handler` on the project named by the option, or the one whose thread this is. */
export const forProject =
  (handler: ProjectHandler<ChatInputCommandInteraction>): Subcommand["execute"] =>
  async (i, deps) =>
    handler(i, await resolveProject(i, deps), deps);

/** A subcommand that changes a project, after the authority check; the outcome is one public reply. */
export const changeProject = (
  action: (i: ChatInputCommandInteraction, project: Project, deps: HandlerDeps) => Promise<ActionResult>,
  say: (result: ActionResult, deps: HandlerDeps) => string | Promise<string> = settle,
): Subcommand["execute"] =>
  forProject(
    requireAuthority(async (i, project, deps) => {
      const message = await say(await action(i, project, deps), deps);
      await i.reply({ content: `Project #${project.id}: ${message}` });
    }),
  );

import { MessageFlags } from "discord.js";
import { statusCard } from "../../src/discord/views";
import { progressOf } from "../../src/pipeline/store";
import { forProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) => projectOption(s.setName("status").setDescription("Stage, progress, words, tokens and cost")),
  execute: forProject(async (i, project, deps) => {
    const queued = await deps.scheduler.queued(project);
    await i.reply({
      embeds: [
        statusCard(project, { ...(await progressOf(deps.db, project)), ...(queued ? { queued } : {}) }),
      ],
      flags: MessageFlags.Ephemeral,
    });
  }),
} satisfies Subcommand;

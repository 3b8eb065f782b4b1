import { MessageFlags } from "discord.js";
import { embed } from "../../src/discord/views";
import { chapterNotesOf, notesOpen } from "../../src/pipeline/notes";
import { truncate } from "../../src/text/discord";
import { forProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) =>
    projectOption(s.setName("notes").setDescription("Your notes on the chapters, which steer revision")),
  execute: forProject(async (i, project, deps) => {
    const notes = await chapterNotesOf(deps.db, project.id);
    const how = notesOpen(project)
      ? "Write or change a chapter's note with **Notes…** under its message, until revision starts."
      : "Revision has started or the book is finished: the notes are as revision read them.";
    const list = notes.map(
      (n) =>
        `**Chapter ${n.chapter}${n.title ? `: ${n.title}` : ""}** (${/^\d+$/.test(n.authorId) ? `<@${n.authorId}>` : "from the command line"})\n${truncate(n.text, 600)}`,
    );
    await i.reply({
      embeds: [
        embed(
          `Notes on #${project.id} ${project.title ?? "Untitled"}`,
          [list.length > 0 ? list.join("\n\n") : "No chapter has a note yet.", "", how].join("\n"),
        ),
      ],
      flags: MessageFlags.Ephemeral,
    });
  }),
} satisfies Subcommand;

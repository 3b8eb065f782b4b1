import {
  ApplicationIntegrationType,
  InteractionContextType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  SlashCommandBuilder,
  type SlashCommandSubcommandBuilder,
} from "discord.js";
import { EXPORT_FORMATS } from "../src/export/index";

/** `/novel`: every subcommand and option name here is part of Folio's interface (SPEC §3). */
const projectOption = (s: SlashCommandSubcommandBuilder) =>
  s.addStringOption((o) =>
    o
      .setName("project")
      .setDescription("Which of your projects (defaults to this thread's project)")
      .setAutocomplete(true)
      .setMaxLength(100),
  );

export function novelCommand(): RESTPostAPIChatInputApplicationCommandsJSONBody {
  return new SlashCommandBuilder()
    .setName("novel")
    .setDescription("Write a whole novel with Folio")
    .setContexts(InteractionContextType.Guild)
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
    .addSubcommand((s) =>
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
        .addBooleanOption((o) => o.setName("auto_approve").setDescription("Skip both approval gates")),
    )
    .addSubcommand((s) =>
      projectOption(s.setName("status").setDescription("Stage, progress, words, tokens and cost")),
    )
    .addSubcommand((s) => s.setName("list").setDescription("Your projects in this server"))
    .addSubcommand((s) =>
      projectOption(s.setName("approve").setDescription("Pass the gate the project waits at")),
    )
    .addSubcommand((s) =>
      projectOption(
        s
          .setName("revise")
          .setDescription("Regenerate the outline with your notes (outline gate)")
          .addStringOption((o) =>
            o
              .setName("notes")
              .setDescription("What to change in the outline")
              .setRequired(true)
              .setMaxLength(4000),
          ),
      ),
    )
    .addSubcommand((s) =>
      projectOption(
        s
          .setName("redraft")
          .setDescription("Redraft one scene after drafting; the old version is kept")
          .addIntegerOption((o) =>
            o
              .setName("scene")
              .setDescription("Scene number")
              .setRequired(true)
              .setMinValue(1)
              .setMaxValue(120),
          )
          .addStringOption((o) => o.setName("notes").setDescription("What to change").setMaxLength(4000)),
      ),
    )
    .addSubcommand((s) => projectOption(s.setName("pause").setDescription("Pause after the unit in flight")))
    .addSubcommand((s) => projectOption(s.setName("resume").setDescription("Resume a paused project")))
    .addSubcommand((s) =>
      projectOption(s.setName("cancel").setDescription("Cancel; everything written is kept")),
    )
    .addSubcommand((s) =>
      projectOption(
        s
          .setName("export")
          .setDescription("Post the manuscript as a file")
          .addStringOption((o) =>
            o
              .setName("format")
              .setDescription("File format (default docx)")
              .addChoices(...EXPORT_FORMATS.map((f) => ({ name: f, value: f }))),
          ),
      ),
    )
    .addSubcommand((s) => projectOption(s.setName("retry").setDescription("Re-run the unit that failed")))
    .toJSON();
}

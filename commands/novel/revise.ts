import { reviseOutline } from "../../src/pipeline/actions";
import { changeProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) =>
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
  execute: changeProject((i, project, deps) =>
    reviseOutline(deps.db, project.id, i.options.getString("notes", true)),
  ),
} satisfies Subcommand;

import { setChapters } from "../../src/pipeline/actions";
import { changeProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) =>
    projectOption(
      s
        .setName("settings")
        .setDescription("Change how the project is shown while it is written")
        .addBooleanOption((o) =>
          o
            .setName("chapters")
            .setDescription("Post each chapter in the thread as soon as it is drafted")
            .setRequired(true),
        ),
    ),
  execute: changeProject((i, project, deps) =>
    setChapters(deps.db, project.id, i.options.getBoolean("chapters", true)),
  ),
} satisfies Subcommand;

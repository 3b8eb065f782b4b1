import { requestRedraft } from "../../src/pipeline/actions";
import { changeProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) =>
    projectOption(
      s
        .setName("redraft")
        .setDescription("Redraft one scene after drafting; the old version is kept")
        .addIntegerOption((o) =>
          o.setName("scene").setDescription("Scene number").setRequired(true).setMinValue(1).setMaxValue(120),
        )
        .addStringOption((o) => o.setName("notes").setDescription("What to change").setMaxLength(4000)),
    ),
  execute: changeProject((i, project, deps) =>
    requestRedraft(
      deps.db,
      project.id,
      i.options.getInteger("scene", true),
      i.options.getString("notes") ?? "",
    ),
  ),
} satisfies Subcommand;

import { cancel } from "../../src/pipeline/actions";
import { stopIfCancelled } from "../shared";
import { changeProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) => projectOption(s.setName("cancel").setDescription("Cancel; everything written is kept")),
  execute: changeProject(async (_i, project, deps) =>
    stopIfCancelled(await cancel(deps.db, project.id), project, deps),
  ),
} satisfies Subcommand;

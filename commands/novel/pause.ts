import { pause } from "../../src/pipeline/actions";
import { changeProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) => projectOption(s.setName("pause").setDescription("Pause after the unit in flight")),
  execute: changeProject((_i, project, deps) => pause(deps.db, project.id)),
} satisfies Subcommand;

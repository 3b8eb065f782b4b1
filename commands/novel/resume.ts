import { resume } from "../../src/pipeline/actions";
import { changeProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) => projectOption(s.setName("resume").setDescription("Resume a paused project")),
  execute: changeProject((_i, project, deps) => resume(deps.db, project.id)),
} satisfies Subcommand;

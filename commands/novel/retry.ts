import { retry } from "../../src/pipeline/actions";
import { changeProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) => projectOption(s.setName("retry").setDescription("Re-run the unit that failed")),
  execute: changeProject((_i, project, deps) => retry(deps.db, project.id)),
} satisfies Subcommand;

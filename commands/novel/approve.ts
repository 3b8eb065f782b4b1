import { approve } from "../../src/pipeline/actions";
import { settleApproval } from "../shared";
import { changeProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) => projectOption(s.setName("approve").setDescription("Pass the gate the project waits at")),
  execute: changeProject((_i, project, deps) => approve(deps.db, project.id), settleApproval),
} satisfies Subcommand;

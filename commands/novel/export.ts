import { EXPORT_FORMATS, type ExportFormat } from "../../src/export/index";
import { postExport } from "../shared";
import { forProject, projectOption, type Subcommand } from "./types";

export default {
  data: (s) =>
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
  execute: forProject((i, project, deps) =>
    postExport(i, project, (i.options.getString("format") ?? "docx") as ExportFormat, deps),
  ),
} satisfies Subcommand;

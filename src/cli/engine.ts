/** The engine as the command line runs it: errors-only logging, finished books written to disk. */
import { createEngine, type Engine } from "../app";
import { loadConfig } from "../config";
import { createLogger } from "../log";
import type { ProgressSink } from "../pipeline/events";
import { writeExport } from "./files";

export function openEngine(
  options: {
    onlyProjects?: number[];
    sinks?: ProgressSink[];
    say?: (line: string) => void;
    /** A command that pays for no model call (status, export, versions, rollback) needs no credentials. */
    readOnly?: boolean;
  } = {},
): Engine {
  const say = options.say ?? ((line: string) => process.stdout.write(`${line}\n`));
  const config = loadConfig();
  const log = createLogger(process.env.LOG_LEVEL ? config.LOG_LEVEL : "error");
  const engine: Engine = createEngine(config, log, {
    sinks: options.sinks ?? [],
    deliver: async (project) => {
      const path = await writeExport(engine, project, "docx", project.exportPath ?? undefined);
      say(`Wrote ${path}`);
    },
    scheduler: { onlyProjects: options.onlyProjects, host: "cli" },
    needsModel: !options.readOnly,
  });
  return engine;
}

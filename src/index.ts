import { createEngine } from "./app";
import { plainLineSink } from "./cli/progress";
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./log";

/**
 * `npm start`: the long-running process. It validates the configuration, opens the database and runs
 * the scheduler, resuming every unfinished project; stops gracefully on SIGTERM/SIGINT.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const engine = createEngine(config, log, {
    sinks: [plainLineSink((line) => log.info(line))],
    deliver: async (project) => {
      log.info({ projectId: project.id }, "novel finished; export it with: folio export");
    },
  });
  engine.scheduler.start();
  log.info({ endpoint: engine.llm.endpoint, db: config.FOLIO_DB_PATH }, "Folio scheduler running");
  const shutdown = (signal: string) => {
    log.info({ signal }, "shutting down: finishing or aborting the unit in flight");
    void engine.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : `folio: ${String(error)}`}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});

import { ConfigError, loadConfig } from "./config";
import { startBot } from "./discord/bot";
import { createLogger } from "./log";

/**
 * `npm start`: the Discord bot with the scheduler in the same process, or one of them (`FOLIO_ROLE`:
 * gateway or worker). Every unfinished project is resumed; SIGTERM/SIGINT stop claiming work, let the
 * unit in flight finish (or abort it after 10 s), release leases and close Discord and the database.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const bot = await startBot(config, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down: finishing or aborting the unit in flight");
    bot.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError
      ? error.message
      : `folio: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});

import { ConfigError, loadConfig, requireKeys } from "./config";
import { type Bot, startBot } from "./discord/bot";
import { type Shards, startShards } from "./discord/shards";
import { createLogger } from "./log";
import { serveOps } from "./ops/http";
import { Metrics } from "./ops/metrics";

/**
 * `npm start`: the Discord bot with the scheduler in the same process, or one of them (`FOLIO_ROLE`:
 * gateway or worker), with the gateway in shard processes when `FOLIO_SHARDS` is set. Every unfinished project is resumed; SIGTERM/SIGINT stop claiming work, let the
 * unit in flight finish (or abort it after 10 s), release leases and close Discord and the database.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  // FOLIO_SHARDS: the gateway runs as shard processes (this program again, as gateways); this process
  // manages them, and does the work itself unless it is a gateway only.
  const sharded =
    config.FOLIO_SHARDS !== undefined && config.FOLIO_ROLE !== "worker" && !process.env.SHARDING_MANAGER;
  let shards: Shards | undefined;
  let bot: Bot | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down: finishing or aborting the unit in flight");
    Promise.all([bot?.stop(), shards?.stop()]).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  if (!sharded) {
    bot = await startBot(config, log);
    return;
  }
  requireKeys(
    config,
    ["DISCORD_TOKEN", "DISCORD_APPLICATION_ID"],
    'to run the Discord bot (see the README, "Running the Discord bot")',
  );
  // Shard processes are this program again, started as this one was (bin/bot.js, or a loader's flags).
  shards = await startShards(config, log, process.argv[1]!);
  if (stopping) return;
  const gatewayOnly = config.FOLIO_ROLE === "gateway";
  if (!gatewayOnly) bot = await startBot({ ...config, FOLIO_ROLE: "worker" }, log, { shards });
  else if (config.FOLIO_HTTP_PORT !== undefined) {
    // A manager of gateway shards only: its health is theirs.
    const metrics = new Metrics({ queueDepth: () => 0, activeProjects: () => 0, modelSlots: () => 0 });
    await serveOps(
      { host: config.FOLIO_HTTP_HOST, port: config.FOLIO_HTTP_PORT },
      metrics,
      { shards: () => shards!.problem() },
      log,
    );
  }
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError
      ? error.message
      : `folio: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});

import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { REST } from "@discordjs/rest";
import { type APIGatewayBotInfo, Routes, type Shard, ShardingManager } from "discord.js";
import type { Logger } from "pino";
import { type Config, ConfigError } from "../config";
import { restApi } from "./rest-api";

/** How long a shard process has to drain on SIGTERM before it is killed. */
const SHARD_STOP_MS = 15_000;

export interface Shards {
  /** Null while every shard this host runs is connected, else which are not. */
  problem(): string | null;
  /** Sends SIGTERM to every shard process (each drains as a gateway does) and waits for them to exit. */
  stop(): Promise<void>;
}

/**
 * Runs the gateway as shard processes with discord.js's ShardingManager (`FOLIO_SHARDS`): each child
 * runs `entry` as a gateway for its shard, answering the commands and buttons of its servers. A child
 * that dies is started again by the manager. `FOLIO_SHARD_IDS` picks the shards this host runs, so
 * several hosts can share one count. A child's `/healthz` port is this process's port + 1 + its shard id.
 */
export async function startShards(config: Config, log: Logger, entry: string): Promise<Shards> {
  const total = config.FOLIO_SHARDS;
  const ids = config.FOLIO_SHARD_IDS;
  if (ids !== undefined) {
    if (typeof total !== "number")
      throw new ConfigError("Configuration error: FOLIO_SHARD_IDS needs FOLIO_SHARDS set to a number.");
    const outside = ids.filter((id) => id >= total);
    if (outside.length > 0)
      throw new ConfigError(
        `Configuration error: FOLIO_SHARD_IDS names shard ${outside.join(", ")}, but FOLIO_SHARDS is ${total} (ids start at 0).`,
      );
  }
  const manager = new ShardingManager(entry, {
    token: config.DISCORD_TOKEN,
    // "auto" is asked of the API this bot talks to (Discord, its stand-in, or the REST proxy).
    totalShards: typeof total === "number" ? total : await recommendedShards(config),
    shardList: ids ?? "auto",
    mode: "process",
    execArgv: process.execArgv,
    respawn: true,
  });
  manager.on("shardCreate", (shard: Shard) => {
    // Read when the process starts (and again when it is started again after dying).
    Object.assign(shard.env as NodeJS.ProcessEnv, {
      FOLIO_ROLE: "gateway",
      FOLIO_SHARDS: "",
      FOLIO_SHARD_IDS: "",
      FOLIO_HTTP_PORT:
        config.FOLIO_HTTP_PORT === undefined
          ? ""
          : String(config.FOLIO_HTTP_PORT === 0 ? 0 : config.FOLIO_HTTP_PORT + 1 + shard.id),
    });
    shard.on("death", (child) =>
      log.warn(
        { shard: shard.id, exitCode: "exitCode" in child ? child.exitCode : null },
        "shard died; restarting it",
      ),
    );
    log.info({ shard: shard.id, of: manager.totalShards }, "starting gateway shard");
  });
  let stopping = false;
  await manager.spawn({ timeout: 60_000 });
  log.info({ shards: manager.shards.map((s) => s.id), of: manager.totalShards }, "gateway shards ready");
  return {
    problem() {
      const down = manager.shards.filter((s) => !s.ready || !s.process || s.process.exitCode !== null);
      return down.size === 0 ? null : `gateway shard ${down.map((s) => s.id).join(", ")} not connected`;
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      await Promise.all(
        manager.shards.map(async (shard) => {
          const child = shard.process;
          if (!child || child.exitCode !== null) return;
          // The manager must not start it again: its exit is the point.
          child.removeAllListeners("exit");
          const exited = once(child, "exit");
          child.kill("SIGTERM");
          const done = await Promise.race([
            exited.then(() => true),
            sleep(SHARD_STOP_MS, false, { ref: false }),
          ]);
          if (!done) child.kill("SIGKILL");
        }),
      );
    },
  };
}

/** Discord's recommended shard count for this bot (`GET /gateway/bot`). */
async function recommendedShards(config: Config): Promise<number> {
  const rest = new REST(restApi(config)).setToken(config.DISCORD_TOKEN ?? "");
  const info = (await rest.get(Routes.gatewayBot())) as APIGatewayBotInfo;
  return info.shards;
}

/** `npm run register`: registers `/novel` now, the same way the bot does at start-up. */
import { REST } from "discord.js";
import { ConfigError, loadConfig, requireKeys } from "../src/config";
import { syncCommands } from "./sync";

try {
  const config = loadConfig();
  requireKeys(config, ["DISCORD_TOKEN", "DISCORD_APPLICATION_ID"], "to register commands");
  const rest = new REST(config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {}).setToken(
    config.DISCORD_TOKEN!,
  );
  const outcome = await syncCommands(rest, config.DISCORD_APPLICATION_ID!, config.DISCORD_GUILD_ID);
  const scope = config.DISCORD_GUILD_ID ? `in guild ${config.DISCORD_GUILD_ID}` : "globally";
  process.stdout.write(
    outcome === "registered" ? `Registered /novel ${scope}.\n` : `/novel is already up to date ${scope}.\n`,
  );
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exitCode = error instanceof ConfigError ? 2 : 1;
}

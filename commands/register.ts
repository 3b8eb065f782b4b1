/** `npm run register`: registers `/novel` now, the same way the bot does at start-up. */
import { once } from "node:events";
import { Client, Events } from "discord.js";
import { ConfigError, loadConfig, requireKeys } from "../src/config";
import { syncCommands } from "./sync";

let client: Client | undefined;
try {
  const config = loadConfig();
  requireKeys(config, ["DISCORD_TOKEN", "DISCORD_APPLICATION_ID"], "to register commands");
  client = new Client({ intents: [], rest: config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {} });
  // Logged in, the command registered is read as discord.js reads it, for its own comparison.
  const ready = once(client, Events.ClientReady);
  await client.login(config.DISCORD_TOKEN);
  await ready;
  const outcome = await syncCommands(client as Client<true>, config.DISCORD_GUILD_ID);
  const scope = config.DISCORD_GUILD_ID ? `in guild ${config.DISCORD_GUILD_ID}` : "globally";
  process.stdout.write(
    outcome === "registered" ? `Registered /novel ${scope}.\n` : `/novel is already up to date ${scope}.\n`,
  );
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exitCode = error instanceof ConfigError ? 2 : 1;
} finally {
  await client?.destroy();
}

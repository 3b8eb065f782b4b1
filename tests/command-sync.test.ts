import { execFile } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client, Events, GatewayIntentBits, Routes } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { novelCommand } from "../commands/novel/index";
import { syncCommands } from "../commands/sync";
import { type FakeDiscord, startFakeDiscord } from "./fakes/discord-server";
import { ROOT } from "./helpers/cli";

/** `/novel` is registered again when anything about it differs from this code's, and only then. */
describe("command sync", () => {
  let discord: FakeDiscord;
  let client: Client<true>;

  beforeAll(async () => {
    discord = await startFakeDiscord();
    const c = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl } });
    const ready = once(c, Events.ClientReady);
    await c.login(discord.token);
    await ready;
    client = c as Client<true>;
  });
  afterAll(async () => {
    await client.destroy();
    await discord.close();
  });

  const route = () => Routes.applicationGuildCommands(discord.applicationId, discord.guildId);
  const puts = () => discord.calls.filter((c) => c.method === "PUT" && c.path.includes("/commands")).length;
  const registered = () => discord.commands(discord.guildId)[0] as Record<string, unknown>;

  it("registers once, then leaves an identical command alone", async () => {
    expect(await syncCommands(client, discord.guildId)).toBe("registered");
    expect(await syncCommands(client, discord.guildId)).toBe("unchanged");
    expect(puts()).toBe(1);
  });

  it.each([
    ["default member permissions", { default_member_permissions: 32 }],
    ["the nsfw flag", { nsfw: true }],
    ["a description's localization", { description_localizations: { fr: "Écrire un roman" } }],
    ["a name's localization", { name_localizations: { de: "roman" } }],
  ])("registers again when only %s differ", async (_what, change) => {
    await client.rest.put(route(), { body: [{ ...novelCommand(), ...change }] });
    const before = puts();
    expect(await syncCommands(client, discord.guildId)).toBe("registered");
    expect(puts()).toBe(before + 1);
    for (const key of Object.keys(change)) {
      expect(registered()[key] ?? null).toEqual(
        (novelCommand() as unknown as Record<string, unknown>)[key] ?? null,
      );
    }
    expect(await syncCommands(client, discord.guildId)).toBe("unchanged");
  });

  it("registers again when a subcommand option's channel types differ", async () => {
    const changed = novelCommand();
    const start = changed.options!.find((o) => o.name === "start") as unknown as {
      options: Record<string, unknown>[];
    };
    start.options.push({ type: 7, name: "where", description: "A channel", channel_types: [0] });
    await client.rest.put(route(), { body: [changed] });
    expect(await syncCommands(client, discord.guildId)).toBe("registered");
    expect(await syncCommands(client, discord.guildId)).toBe("unchanged");
  });

  it("npm run register does the same from the command line", async () => {
    await client.rest.put(route(), { body: [{ ...novelCommand(), nsfw: true }] });
    const env = {
      ...process.env,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_GUILD_ID: discord.guildId,
      DISCORD_API_URL: discord.apiUrl,
    };
    const run = () =>
      promisify(execFile)(process.execPath, ["--import", "tsx", join(ROOT, "commands/register.ts")], {
        env,
        cwd: ROOT,
      });
    const first = await run();
    expect(first.stdout).toBe(`Registered /novel in guild ${discord.guildId}.\n`);
    const second = await run();
    expect(second.stdout).toBe(`/novel is already up to date in guild ${discord.guildId}.\n`);
  });
});

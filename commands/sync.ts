import type { ApplicationCommandData, Client } from "discord.js";
import { novelCommand } from "./novel/index";

/**
 * Registers `/novel` (in one guild when `guildId` is given, globally otherwise) only when the
 * registered command differs from this code's, so restarts do not churn Discord's command cache.
 * The comparison is discord.js's own (`ApplicationCommand#equals`, option order enforced): every
 * field counts, default member permissions, nsfw, localizations and channel types included.
 */
export async function syncCommands(
  client: Client<true>,
  guildId: string | undefined,
): Promise<"unchanged" | "registered"> {
  const commands = client.application.commands;
  // Read afresh: a cached command is patched from new data, but not its nsfw flag.
  commands.cache.clear();
  const registered = guildId ? await commands.fetch({ guildId }) : await commands.fetch();
  const wanted = novelCommand();
  const current = registered.size === 1 ? registered.first() : undefined;
  // Compared as sent: the JSON body (a builder's unset fields are absent from it, not `undefined`),
  // which `equals` reads in Discord's snake_case as well as in its own names.
  const sent = JSON.parse(JSON.stringify(wanted)) as ApplicationCommandData;
  if (current?.equals(sent, true)) return "unchanged";
  if (guildId) await commands.set([wanted], guildId);
  else await commands.set([wanted]);
  return "registered";
}

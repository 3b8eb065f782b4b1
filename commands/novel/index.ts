import {
  ApplicationIntegrationType,
  InteractionContextType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  SlashCommandBuilder,
  SlashCommandSubcommandBuilder,
} from "discord.js";
import approve from "./approve";
import cancel from "./cancel";
import exportManuscript from "./export";
import list from "./list";
import notes from "./notes";
import pause from "./pause";
import redraft from "./redraft";
import resume from "./resume";
import retry from "./retry";
import revise from "./revise";
import settings from "./settings";
import start from "./start";
import status from "./status";
import type { Subcommand } from "./types";

/** `/novel`'s subcommands in the order Discord shows them (SPEC §3). */
const SUBCOMMANDS: readonly Subcommand[] = [
  start,
  status,
  list,
  approve,
  revise,
  redraft,
  pause,
  resume,
  cancel,
  exportManuscript,
  retry,
  settings,
  notes,
];

/** Each subcommand by its name, the name its own definition gives it. */
export const subcommands: ReadonlyMap<string, Subcommand> = new Map(
  SUBCOMMANDS.map((sub) => [sub.data(new SlashCommandSubcommandBuilder()).name, sub]),
);

/** `/novel`: every subcommand and option name here is part of Folio's interface (SPEC §3). */
export function novelCommand(): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const command = new SlashCommandBuilder()
    .setName("novel")
    .setDescription("Write a whole novel with Folio")
    .setContexts(InteractionContextType.Guild)
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
    // Stated, not left to Discord's defaults, so a command changed elsewhere is told apart and fixed.
    .setDefaultMemberPermissions(null)
    .setNSFW(false);
  for (const sub of SUBCOMMANDS) command.addSubcommand(sub.data);
  return command.toJSON();
}

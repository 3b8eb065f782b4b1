import { type REST, Routes } from "discord.js";
import { novelCommand } from "./novel/index";

interface OptionLike {
  type?: number;
  name?: string;
  description?: string;
  required?: boolean;
  autocomplete?: boolean;
  choices?: { name: string; value: string | number }[];
  min_value?: number;
  max_value?: number;
  min_length?: number;
  max_length?: number;
  options?: OptionLike[];
  contexts?: number[] | null;
  integration_types?: number[];
}

/** The parts of a command that matter, with Discord's omitted defaults made explicit, for comparison. */
export function canonical(command: OptionLike): unknown {
  return {
    type: command.type ?? 1,
    name: command.name,
    description: command.description,
    required: command.required ?? false,
    autocomplete: command.autocomplete ?? false,
    choices: (command.choices ?? []).map((c) => [c.name, c.value]),
    min_value: command.min_value ?? null,
    max_value: command.max_value ?? null,
    min_length: command.min_length ?? null,
    max_length: command.max_length ?? null,
    options: (command.options ?? []).map(canonical),
    contexts: [...(command.contexts ?? [])].sort(),
    integration_types: [...(command.integration_types ?? [])].sort(),
  };
}

/**
 * Registers `/novel` (in one guild when `guildId` is given, globally otherwise) only when the
 * registered definition differs from this code's, so restarts do not churn Discord's command cache.
 */
export async function syncCommands(
  rest: REST,
  applicationId: string,
  guildId: string | undefined,
): Promise<"unchanged" | "registered"> {
  const route = guildId
    ? Routes.applicationGuildCommands(applicationId, guildId)
    : Routes.applicationCommands(applicationId);
  const wanted = novelCommand();
  const registered = (await rest.get(route)) as OptionLike[];
  const same =
    registered.length === 1 &&
    JSON.stringify(canonical(registered[0]!)) === JSON.stringify(canonical(wanted as OptionLike));
  if (same) return "unchanged";
  await rest.put(route, { body: [wanted] });
  return "registered";
}

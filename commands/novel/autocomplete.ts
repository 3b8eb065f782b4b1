import type { AutocompleteInteraction } from "discord.js";
import { ownersProjects } from "../../src/discord/threads";
import { describeStatus } from "../../src/pipeline/actions";
import type { HandlerDeps } from "../shared";

/** The `project` option's choices: the caller's projects here, matching what was typed by title or number. */
export async function autocompleteProject(i: AutocompleteInteraction, deps: HandlerDeps): Promise<void> {
  const typed = i.options.getFocused().replace(/^#/, "").trim();
  const rows = await ownersProjects(deps.db, i.user.id, i.guildId, typed || undefined);
  await i.respond(
    rows.map((p) => ({
      name: `#${p.id} ${p.title ?? "Untitled"} — ${describeStatus(p)}`.slice(0, 100),
      value: String(p.id),
    })),
  );
}

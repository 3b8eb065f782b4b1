import type { AutocompleteInteraction } from "discord.js";
import { and, desc, eq, like, or } from "drizzle-orm";
import { projects } from "../../db/schema";
import { describeStatus } from "../../src/pipeline/actions";
import type { HandlerDeps } from "../shared";

/** The `project` option's choices: the caller's projects here, matching what was typed by title or number. */
export async function autocompleteProject(i: AutocompleteInteraction, deps: HandlerDeps): Promise<void> {
  const typed = i.options.getFocused().replace(/^#/, "").trim();
  const rows = deps.db
    .select()
    .from(projects)
    .where(
      and(
        eq(projects.ownerId, i.user.id),
        i.guildId ? eq(projects.guildId, i.guildId) : undefined,
        typed ? or(like(projects.title, `%${typed}%`), eq(projects.id, Number(typed) || -1)) : undefined,
      ),
    )
    .orderBy(desc(projects.id))
    .limit(25)
    .all();
  await i.respond(
    rows.map((p) => ({
      name: `#${p.id} ${p.title ?? "Untitled"} — ${describeStatus(p)}`.slice(0, 100),
      value: String(p.id),
    })),
  );
}

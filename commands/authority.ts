import { type BaseInteraction, PermissionFlagsBits } from "discord.js";
import { type ProjectHandler, Refusal } from "./shared";

type Actor = Pick<BaseInteraction, "user" | "memberPermissions">;

/**
 * Only the owner, or a member with Manage Server, may change a project. Every handler that changes one
 * (subcommand, button or form) is wrapped in this, so the check comes before anything it does, and the
 * project's status card is brought up to date after it.
 */
export function requireAuthority<I extends Actor>(handler: ProjectHandler<I>): ProjectHandler<I> {
  return async (i, project, deps) => {
    if (project.ownerId !== i.user.id && !i.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
      throw new Refusal(
        `Only <@${project.ownerId}> or a member with Manage Server can change project #${project.id}.`,
      );
    }
    try {
      return await handler(i, project, deps);
    } finally {
      // Whatever the action did (or refused), the card shows the project as it now is.
      deps.changed?.(project.id);
    }
  };
}

/** A handler as it runs: behind the authority check when it changes the project. */
export function guarded<I extends Actor>(entry: {
  mutates: boolean;
  handle: ProjectHandler<I>;
}): ProjectHandler<I> {
  return entry.mutates ? requireAuthority(entry.handle) : entry.handle;
}

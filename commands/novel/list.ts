import { ownersProjects } from "../../src/discord/threads";
import { LIMITS } from "../../src/discord/views";
import { describeStatus } from "../../src/pipeline/actions";
import { truncate } from "../../src/text/discord";
import { queueLine } from "../../src/text/format";
import { ephemeral } from "../shared";
import type { Subcommand } from "./types";

/** As many whole lines as fit in `limit` characters, with a note of how many were left out. */
function fitLines(lines: string[], limit: number): string {
  const kept: string[] = [];
  let length = 0;
  for (const line of lines) {
    if (length + line.length + 40 > limit) {
      kept.push(`…and ${lines.length - kept.length} more.`);
      break;
    }
    kept.push(line);
    length += line.length + 1;
  }
  return kept.join("\n");
}

export default {
  data: (s) => s.setName("list").setDescription("Your projects in this server"),
  async execute(i, deps) {
    const mine = await ownersProjects(deps.db, i.user.id, i.guildId);
    const lines = [];
    for (const p of mine) {
      const queued = p.status === "running" ? await deps.scheduler.queued(p) : undefined;
      const now =
        p.status !== "running" ? "" : queued ? ` (${queueLine(queued.ahead, queued.etaMs)})` : " (running)";
      lines.push(
        `**#${p.id}** ${truncate(p.title ?? "Untitled", 60)} — ${describeStatus(p)}${now} · <#${p.threadId}>`,
      );
    }
    const shown = fitLines(lines, LIMITS.content);
    await i.reply(
      ephemeral(shown || "You have no projects in this server yet. Start one with /novel start."),
    );
  },
} satisfies Subcommand;

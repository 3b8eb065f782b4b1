import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type InteractionEditReplyOptions,
  type MessageCreateOptions,
  MessageFlags,
} from "discord.js";
import type { Db } from "../db/client";
import type { Project } from "../db/schema";
import type { Config } from "../src/config";
import { guildProject, projectInThread } from "../src/discord/threads";
import { exportAttachments } from "../src/discord/views";
import { EXPORT_FORMATS, type ExportFormat } from "../src/export/index";
import type { ActionResult } from "../src/pipeline/actions";
import { renderExport } from "../src/pipeline/manuscript";
import type { WorkControl } from "../src/pipeline/scheduler";
import { queueLine } from "../src/text/format";

export interface HandlerDeps {
  db: Db;
  config: Config;
  /** The process's scheduler, or, in a gateway process, what it can tell of the workers from the database. */
  scheduler: WorkControl;
  /** The upload limit of the channel a file goes to, in bytes. */
  uploadLimit: (channelId: string) => Promise<number>;
  /** Posts in a thread within the bot's request budget (every post the bot makes goes this way). */
  post: (threadId: string, payload: MessageCreateOptions) => Promise<{ id: string }>;
  /** The project may have changed (an author's action): its status card is brought up to date. */
  changed?: (projectId: number) => void;
}

/** Answers one interaction about one project. */
export type ProjectHandler<I> = (i: I, project: Project, deps: HandlerDeps) => Promise<void>;

/** Something the user should be told privately; nothing has changed. */
export class Refusal extends Error {}

export const ephemeral = (content: string) => ({ content, flags: MessageFlags.Ephemeral as const });

export async function projectInGuild(
  deps: HandlerDeps,
  id: number,
  guildId: string | null,
): Promise<Project> {
  const project = await guildProject(deps.db, id, guildId);
  if (!project) throw new Refusal(`There is no project #${id} in this server.`);
  return project;
}

/** The `project` option, or the project whose thread this is. */
export async function resolveProject(i: ChatInputCommandInteraction, deps: HandlerDeps): Promise<Project> {
  const option = i.options.getString("project");
  if (option) {
    const id = Number(option.replace(/^#/, "").trim());
    if (!Number.isInteger(id) || id <= 0)
      throw new Refusal(`"${option}" is not a project number; pick one from the list.`);
    return projectInGuild(deps, id, i.guildId);
  }
  const inThread = i.channel?.isThread() ? await projectInThread(deps.db, i.channelId) : undefined;
  if (!inThread)
    throw new Refusal("Which project? Use the project option, or run this in the project's thread.");
  return inThread;
}

/** A refused action becomes a private answer; a done one wakes the scheduler. Returns what to say. */
export function settle(result: ActionResult, deps: HandlerDeps): string {
  if (!result.ok) throw new Refusal(result.message);
  deps.scheduler.wake();
  return result.message;
}

/**
 * An approval's answer, saying whether the work it starts runs now or waits its turn for the model:
 * "drafting starts now", or "drafting starts when its turn comes (Queued — 3 novels ahead; about 2m)".
 */
export async function settleApproval(result: ActionResult, deps: HandlerDeps): Promise<string> {
  const message = settle(result, deps);
  if (!result.ok || result.project.status !== "running") return message;
  const queued = await deps.scheduler.queued(result.project, true);
  const stem = message.replace(/\.$/, "");
  return queued ? `${stem} when its turn comes (${queueLine(queued.ahead, queued.etaMs)}).` : `${stem} now.`;
}

/** Posts the manuscript and its report as files, or says why they cannot be posted. */
export async function postExport(
  i: ChatInputCommandInteraction | ButtonInteraction,
  project: Project,
  format: ExportFormat,
  deps: HandlerDeps,
): Promise<void> {
  if (!EXPORT_FORMATS.includes(format)) throw new Refusal(`Choose a format: ${EXPORT_FORMATS.join(", ")}.`);
  await i.deferReply();
  const files = await renderExport(deps.db, project, deps.config.FOLIO_AUTHOR_NAME, format);
  const note =
    files.missing.length > 0
      ? ` This is a partial manuscript: scenes ${files.missing.join(", ")} are not written yet (see the report).`
      : "";
  const attached = exportAttachments(files, await deps.uploadLimit(i.channelId!), project.id);
  const payload: InteractionEditReplyOptions =
    "files" in attached
      ? { content: `**${files.title}** as ${format}, with its report.${note}`, files: attached.files }
      : { content: `The ${format} file cannot be posted: ${attached.tooLarge}` };
  await i.editReply(payload);
}

/** A cancelled project's unit in flight is aborted at once. */
export function stopIfCancelled(result: ActionResult, project: Project, deps: HandlerDeps): ActionResult {
  if (result.ok) deps.scheduler.abort(project.id);
  return result;
}

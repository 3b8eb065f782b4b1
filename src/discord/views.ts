import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder } from "discord.js";
import { z } from "zod";
import type { Project } from "../../db/schema";
import type { GateStage } from "../../stages/definition";
import { cleanParagraphs } from "../export/paragraphs";
import type { Artifact, ProgressEvent, ProgressSnapshot } from "../pipeline/events";
import type { ExportFiles } from "../pipeline/manuscript";
import { statusView } from "../pipeline/status";
import { cutAtSentence, truncate } from "../text/discord";
import { formatDuration, queueLine, thousands } from "../text/format";

/** Discord's limits (SPEC §5). */
export const LIMITS = {
  content: 2000,
  embedDescription: 4096,
  embedTitle: 256,
  threadName: 100,
};

export const COLORS = { info: 0x5865f2, success: 0x57f287, warning: 0xfee75c, danger: 0xed4245 } as const;

/**
 * Every button and modal carries its action and project, and the chapter when it is about one:
 * `folio:<action>:<project id>[:<chapter>]`.
 */
export const ACTIONS = [
  "approve",
  "revise",
  "revise-submit",
  "cancel",
  "start-revision",
  "export-draft",
  "redraft",
  "redraft-submit",
  "retry",
  "notes",
  "notes-submit",
] as const;
export type ComponentAction = (typeof ACTIONS)[number];

const CustomIdSchema = z
  .string()
  .regex(/^folio:[a-z-]+:\d+(:\d+)?$/)
  .transform((id) => {
    const [, action, project, chapter] = id.split(":");
    return {
      action: action as string,
      projectId: Number(project),
      ...(chapter === undefined ? {} : { chapter: Number(chapter) }),
    };
  })
  .pipe(
    z.object({
      action: z.enum(ACTIONS),
      projectId: z.number().int().positive(),
      chapter: z.number().int().positive().optional(),
    }),
  );

export const customId = (action: ComponentAction, projectId: number, chapter?: number) =>
  `folio:${action}:${projectId}${chapter === undefined ? "" : `:${chapter}`}`;

export function parseCustomId(
  id: string,
): { action: ComponentAction; projectId: number; chapter?: number } | undefined {
  const parsed = CustomIdSchema.safeParse(id);
  return parsed.success ? parsed.data : undefined;
}

const button = (action: ComponentAction, projectId: number, label: string, style: ButtonStyle) =>
  new ButtonBuilder().setCustomId(customId(action, projectId)).setLabel(label).setStyle(style);

/** The buttons of a gate, by what it offers: Revise… at the outline, Redraft a scene… at the draft. */
export function gateButtons(gate: GateStage, projectId: number, disabled = false) {
  return gate.revises ? outlineGateButtons(projectId, disabled) : draftGateButtons(projectId, disabled);
}

type ButtonSpec = [action: ComponentAction, label: string, style: ButtonStyle];

function buttonRow(projectId: number, disabled: boolean, specs: ButtonSpec[]) {
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      specs.map(([action, label, style]) => button(action, projectId, label, style).setDisabled(disabled)),
    ),
  ];
}

export const outlineGateButtons = (projectId: number, disabled = false) =>
  buttonRow(projectId, disabled, [
    ["approve", "Approve", ButtonStyle.Success],
    ["revise", "Revise…", ButtonStyle.Primary],
    ["cancel", "Cancel", ButtonStyle.Danger],
  ]);

export const draftGateButtons = (projectId: number, disabled = false) =>
  buttonRow(projectId, disabled, [
    ["start-revision", "Start revision", ButtonStyle.Success],
    ["export-draft", "Export draft now", ButtonStyle.Secondary],
    ["redraft", "Redraft a scene…", ButtonStyle.Primary],
  ]);

/** The Notes… button under a chapter's message: the author's note on that chapter, for revision. */
export function notesButton(projectId: number, chapter: number) {
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder()
        .setCustomId(customId("notes", projectId, chapter))
        .setLabel("Notes…")
        .setStyle(ButtonStyle.Secondary),
    ),
  ];
}

export function retryButton(projectId: number) {
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      button("retry", projectId, "Retry", ButtonStyle.Primary),
    ),
  ];
}

export function embed(title: string, description: string, color: number = COLORS.info): EmbedBuilder {
  return new EmbedBuilder()
    .setTitle(truncate(title, LIMITS.embedTitle))
    .setDescription(truncate(description || "—", LIMITS.embedDescription))
    .setColor(color);
}

/** How much of a chapter's opening paragraph its message quotes, at most. */
const OPENING_QUOTED = 900;

/**
 * A chapter as soon as it is drafted: "Chapter 3: The Salt Lantern — 2,412 words", its opening
 * paragraph quoted (cut at a sentence), and the whole chapter attached as Markdown.
 */
export function chapterMessage(
  e: Extract<ProgressEvent, { type: "chapter_drafted" }>,
  markdown: string,
): {
  embeds: EmbedBuilder[];
  files: AttachmentBuilder[];
  components: ReturnType<typeof notesButton>;
} {
  const heading = e.title ? `Chapter ${e.chapter}: ${e.title}` : `Chapter ${e.chapter}`;
  const opening = cleanParagraphs(e.scenes[0]?.text ?? "")[0] ?? "";
  return {
    embeds: [
      embed(
        `${heading} — ${fmt(e.words)} words`,
        opening ? `> ${cutAtSentence(opening, OPENING_QUOTED)}` : "",
      ),
    ],
    files: [
      new AttachmentBuilder(Buffer.from(markdown, "utf8"), {
        name: `chapter-${String(e.chapter).padStart(2, "0")}.md`,
      }),
    ],
    components: notesButton(e.projectId, e.chapter),
  };
}

export function markdownFile(artifact: Artifact): AttachmentBuilder {
  return new AttachmentBuilder(Buffer.from(artifact.markdown, "utf8"), { name: artifact.name });
}

const fmt = thousands;

export function progressBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `${"▰".repeat(filled)}${"▱".repeat(width - filled)}`;
}

/** The live progress card: stage, bar, scenes n/N, words vs target, tokens, cost, elapsed, ETA. */
export function progressEmbed(label: string, p: ProgressSnapshot, finished = false): EmbedBuilder {
  // A planning stage in parts fills its bar part by part; every other stage, scene by scene.
  const [done, total] = p.step ? [p.step.done, p.step.total] : [p.scenesDone, p.sceneCount];
  const percent = total > 0 ? Math.round((done / total) * 100) : 0;
  const queued = p.queued && !finished ? `\n**${queueLine(p.queued.ahead, p.queued.etaMs)}**` : "";
  return embed(
    `${label}${finished ? " — done" : ""}`,
    `${progressBar(done, total)} ${percent}%${queued}`,
    finished ? COLORS.success : p.queued ? COLORS.warning : COLORS.info,
  ).addFields(
    ...(p.step && !finished
      ? [{ name: "Now", value: `${p.step.now} (${p.step.done}/${p.step.total} parts done)` }]
      : []),
    { name: "Scenes", value: `${p.scenesDone}/${p.sceneCount}`, inline: true },
    { name: "Words", value: `${fmt(p.words)} / ${fmt(p.targetWords)}`, inline: true },
    { name: "Tokens", value: fmt(p.promptTokens + p.completionTokens), inline: true },
    { name: "Cost", value: `$${p.costUsd.toFixed(2)}`, inline: true },
    { name: "Elapsed", value: formatDuration(p.elapsedMs), inline: true },
    { name: "ETA", value: finished ? "—" : formatDuration(p.etaMs), inline: true },
    ...(p.writing && !finished
      ? [{ name: "Writing", value: `Scene ${p.writing.scene}: ${fmt(p.writing.words)} words so far` }]
      : []),
  );
}

/** The status card: the first message of a project's thread, `/novel status` too (see `statusView`). */
export function statusCard(project: Project, p: ProgressSnapshot): EmbedBuilder {
  const view = statusView(project, p, "discord");
  const color =
    project.status === "done"
      ? COLORS.success
      : project.status === "needs_attention"
        ? COLORS.danger
        : project.status === "running" && !p.queued && project.queueAhead === null
          ? COLORS.info
          : COLORS.warning;
  return embed(
    view.heading,
    [
      `**Premise:** ${truncate(project.premise, 1500)}`,
      `**Now:** ${view.now}`,
      view.attention ? `**Attention:** ${truncate(view.attention, 1000)}` : "",
      `**You can:** ${view.next}`,
    ]
      .filter(Boolean)
      .join("\n"),
    color,
  ).addFields(...view.counts.map((c) => ({ name: c.label, value: c.value, inline: true })));
}

/** A thread name from the working title: Discord allows 1–100 characters. */
export function threadName(title: string): string {
  const clean = title.replace(/\s+/g, " ").trim();
  return truncate(clean || "Untitled novel", LIMITS.threadName);
}

/** Before the concept stage names the book, the first words of the premise stand in for a title. */
export function workingTitle(title: string | undefined, premise: string): string {
  if (title) return title;
  const words = premise.replace(/\s+/g, " ").trim().split(" ");
  return words.length > 8 ? `${words.slice(0, 8).join(" ")}…` : words.join(" ");
}

/**
 * The book and its report as attachments, or — when together they exceed the channel's upload
 * limit — a sentence saying how large the book is and how else to get it.
 */
export function exportAttachments(
  files: ExportFiles,
  limit: number,
  projectId: number,
): { files: { attachment: Buffer; name: string; description?: string }[] } | { tooLarge: string } {
  if (files.book.data.length + files.report.data.length + (files.shape?.data.length ?? 0) > limit) {
    const size = (files.book.data.length / 2 ** 20).toFixed(1);
    return {
      tooLarge: `the manuscript is ${size} MiB, over this server's ${limit / 2 ** 20} MiB upload limit. Use \`/novel export format:markdown\`, or \`folio export ${projectId}\` on the host.`,
    };
  }
  return {
    files: [
      { attachment: files.book.data, name: files.book.name },
      { attachment: files.report.data, name: files.report.name },
      ...(files.shape
        ? [{ attachment: files.shape.data, name: files.shape.name, description: files.shape.description }]
        : []),
    ],
  };
}

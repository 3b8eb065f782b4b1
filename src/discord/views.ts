import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  LabelBuilder,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
} from "discord.js";
import { z } from "zod";
import type { Project } from "../../db/schema";
import type { GateStage } from "../../stages/definition";
import { cleanParagraphs } from "../export/paragraphs";
import { describeStatus } from "../pipeline/actions";
import type { Artifact, ProgressEvent, ProgressSnapshot } from "../pipeline/events";
import type { ExportFiles } from "../pipeline/manuscript";
import { stageLabel } from "../pipeline/workflow";
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

/** Every button and modal carries its action and project: `folio:<action>:<project id>`. */
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
] as const;
export type ComponentAction = (typeof ACTIONS)[number];

const CustomIdSchema = z
  .string()
  .regex(/^folio:[a-z-]+:\d+$/)
  .transform((id) => {
    const [, action, project] = id.split(":");
    return { action: action as string, projectId: Number(project) };
  })
  .pipe(z.object({ action: z.enum(ACTIONS), projectId: z.number().int().positive() }));

export const customId = (action: ComponentAction, projectId: number) => `folio:${action}:${projectId}`;

export function parseCustomId(id: string): { action: ComponentAction; projectId: number } | undefined {
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

export function retryButton(projectId: number) {
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      button("retry", projectId, "Retry", ButtonStyle.Primary),
    ),
  ];
}

/** The author's notes for a revision or a redraft, up to Discord's 4000 characters. */
function notesField({ required }: { required: boolean }): LabelBuilder {
  const input = new TextInputBuilder()
    .setCustomId("notes")
    .setStyle(TextInputStyle.Paragraph)
    .setMaxLength(4000)
    .setRequired(required);
  return new LabelBuilder()
    .setLabel("What should change?")
    .setTextInputComponent(required ? input.setMinLength(1) : input);
}

export function reviseModal(projectId: number): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(customId("revise-submit", projectId))
    .setTitle("Revise the outline")
    .addLabelComponents(notesField({ required: true }));
}

export function redraftModal(projectId: number, sceneCount: number): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(customId("redraft-submit", projectId))
    .setTitle("Redraft a scene")
    .addLabelComponents(
      new LabelBuilder()
        .setLabel(`Scene number (1–${sceneCount})`)
        .setTextInputComponent(
          new TextInputBuilder()
            .setCustomId("scene")
            .setStyle(TextInputStyle.Short)
            .setMaxLength(3)
            .setRequired(true),
        ),
      notesField({ required: false }),
    );
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
): { embeds: EmbedBuilder[]; files: AttachmentBuilder[] } {
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

export function statusCard(project: Project, p: ProgressSnapshot): EmbedBuilder {
  const where =
    project.status !== "running"
      ? describeStatus(project)
      : p.queued
        ? `${stageLabel(project.stage)} — ${queueLine(p.queued.ahead, p.queued.etaMs)}`
        : `${stageLabel(project.stage)} — running`;
  return embed(
    `#${project.id} ${project.title ?? "Untitled"}`,
    [
      `**Premise:** ${truncate(project.premise, 1500)}`,
      `**Now:** ${where}`,
      project.attention ? `**Attention:** ${truncate(project.attention, 1000)}` : "",
    ]
      .filter(Boolean)
      .join("\n"),
  ).addFields(
    { name: "Scenes", value: `${p.scenesDone}/${p.sceneCount}`, inline: true },
    { name: "Words", value: `${fmt(p.words)} / ${fmt(p.targetWords)}`, inline: true },
    { name: "Tokens", value: fmt(p.promptTokens + p.completionTokens), inline: true },
    { name: "Cost", value: `$${p.costUsd.toFixed(2)}`, inline: true },
  );
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
): { files: { attachment: Buffer; name: string }[] } | { tooLarge: string } {
  if (files.book.data.length + files.report.data.length > limit) {
    const size = (files.book.data.length / 2 ** 20).toFixed(1);
    return {
      tooLarge: `the manuscript is ${size} MiB, over this server's ${limit / 2 ** 20} MiB upload limit. Use \`/novel export format:markdown\`, or \`folio export ${projectId}\` on the host.`,
    };
  }
  return {
    files: [
      { attachment: files.book.data, name: files.book.name },
      { attachment: files.report.data, name: files.report.name },
    ],
  };
}

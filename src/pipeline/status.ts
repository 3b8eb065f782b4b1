import type { Project } from "../../db/schema";
import { formatDuration, queueLine, thousands } from "../text/format";
import type { ProgressSnapshot } from "./events";
import { notesOpen } from "./notes";
import { gateAt, stageLabel } from "./workflow";

/**
 * Where a project stands and what its author can do now, in the same words wherever it is shown: the
 * status card at the top of its thread, `/novel status`, and `folio status ID`.
 */
export interface StatusView {
  heading: string;
  now: string;
  attention: string | null;
  counts: { label: string; value: string }[];
  next: string;
}

export type StatusHost = "discord" | "cli";

export function statusView(project: Project, p: ProgressSnapshot, host: StatusHost): StatusView {
  return {
    heading: `#${project.id} ${project.title ?? "Untitled"}`,
    now: nowLine(project, p),
    attention: project.status === "needs_attention" ? project.attention : null,
    counts: [
      { label: "Scenes", value: `${p.scenesDone}/${p.sceneCount}` },
      { label: "Words", value: `${thousands(p.words)} / ${thousands(p.targetWords)}` },
      { label: "Tokens", value: thousands(p.promptTokens + p.completionTokens) },
      { label: "Cost", value: `$${p.costUsd.toFixed(2)}` },
      ...(p.etaMs !== null && project.status === "running"
        ? [{ label: "Stage ETA", value: formatDuration(p.etaMs) }]
        : []),
    ],
    next: (host === "discord" ? discordNext : cliNext)(project),
  };
}

function nowLine(project: Project, p: ProgressSnapshot): string {
  const stage = stageLabel(project.stage);
  switch (project.status) {
    case "done":
      return "Delivered";
    case "cancelled":
      return `Cancelled (at ${stage})`;
    case "waiting":
      return `Waiting for your ${gateAt(project.stage)?.subject ?? ""} approval`.replace("  ", " ");
    case "paused":
      return `Paused (at ${stage})`;
    case "needs_attention":
      return `Stopped at ${stage}: needs attention`;
    default: {
      const queued =
        p.queued ?? (project.queueAhead === null ? undefined : { ahead: project.queueAhead, etaMs: null });
      return queued ? `${stage} — ${queueLine(queued.ahead, queued.etaMs)}` : `${stage} — running`;
    }
  }
}

function discordNext(project: Project): string {
  const notes =
    notesOpen(project) && project.showChapters
      ? " **Notes…** under a chapter's message steers its revision."
      : "";
  switch (project.status) {
    case "running":
      return `Follow along below. \`/novel pause\` stops after the step in flight.${notes}`;
    case "waiting":
      return gateAt(project.stage)?.revises
        ? "Read the outline below, then **Approve**, **Revise…** with your notes, or **Cancel**."
        : `Read the draft, then **Start revision**, **Export draft now**, or **Redraft a scene…** on the message below.${notes}`;
    case "paused":
      return "`/novel resume` goes on from where it stopped; nothing written is lost.";
    case "needs_attention":
      return "Fix the cause (for example the model endpoint), then press **Retry** or run `/novel retry`.";
    case "done":
      return "The manuscript and its report are posted below; `/novel export` gives docx, epub or markdown again.";
    case "cancelled":
      return "Everything written is kept: `/novel export` gives it.";
  }
}

function cliNext(project: Project): string {
  const id = project.id;
  const notes = notesOpen(project) ? ` folio notes ${id} CHAPTER "…" steers a chapter's revision.` : "";
  switch (project.status) {
    case "running":
      return `folio resume ${id} runs it, if no folio process is running it now.${notes}`;
    case "waiting":
      return `folio resume ${id} asks for approval at the terminal; folio resume ${id} --yes approves.${notes}`;
    case "paused":
    case "needs_attention":
      return `folio resume ${id} goes on from where it stopped.${notes}`;
    case "done":
    case "cancelled":
      return `folio export ${id} writes the manuscript (docx, epub or markdown).`;
  }
}

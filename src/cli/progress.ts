import { MultiBar, Presets, type SingleBar } from "cli-progress";
import type { ProgressEvent, ProgressSink, ProgressSnapshot } from "../pipeline/events";
import { gateAt } from "../pipeline/workflow";
import { formatDuration, queueLine, thousands } from "../text/format";

const fmt = thousands;

export function describeProgress(p: ProgressSnapshot): string {
  return [
    `${p.scenesDone}/${p.sceneCount} scenes`,
    `${fmt(p.words)}/${fmt(p.targetWords)} words`,
    `${fmt(p.promptTokens + p.completionTokens)} tokens`,
    `$${p.costUsd.toFixed(2)}`,
    `elapsed ${formatDuration(p.elapsedMs)}`,
    `ETA ${formatDuration(p.etaMs)}`,
  ].join(" · ");
}

/** One line per event: for logs, pipes and CI, where a redrawn bar would be noise. */
export function plainLineSink(write: (line: string) => void): ProgressSink {
  return (event) => {
    const line = plainLine(event);
    if (line) write(line);
  };
}

function plainLine(e: ProgressEvent): string | null {
  const tag = `[project ${e.projectId}]`;
  switch (e.type) {
    case "stage_started":
      return `${tag} ${e.label}…`;
    case "stage_finished":
      return `${tag} ${e.label} done. ${e.summary.split("\n")[0]}`;
    case "scene_drafted":
      return `${tag} scene ${e.scene} "${e.title}" ${fmt(e.sceneWords)} words · ${describeProgress(e.progress)}`;
    case "chapter_drafted":
      return `${tag} Chapter ${e.chapter}: ${e.title} — ${fmt(e.words)} words`;
    case "scene_writing":
      return null;
    case "stage_step": {
      const step = e.progress.step!;
      return `${tag} ${e.label}: ${step.now} (${step.done}/${step.total} parts done)`;
    }
    case "scene_revised":
      return `${tag} ${e.label}: scene ${e.scene} ${e.outcome} (${e.done}/${e.total})`;
    case "gate":
      return `${tag} The ${gateAt(e.stage)?.subject ?? "project"} waits for approval.`;
    case "unit_retry":
      return `${tag} ${e.unit} failed (attempt ${e.attempt}), retrying: ${e.error}`;
    case "needs_attention":
      return `${tag} needs attention: ${e.unit} failed: ${e.error}`;
    case "queued":
      return e.progress.queued
        ? `${tag} ${e.label}: ${queueLine(e.progress.queued.ahead, e.progress.queued.etaMs)}`
        : `${tag} ${e.label}: running`;
    case "paused":
      return `${tag} paused: ${e.reason}`;
    case "done":
      return `${tag} finished · ${describeProgress(e.progress)}`;
  }
}

/** A redrawn terminal bar per project, with stage, scenes, words, tokens, cost and ETA. */
const EVENT_STAGE: Partial<Record<ProgressEvent["type"], string>> = {
  gate: "Waiting for approval",
  done: "Done",
};

/**
 * A redrawn terminal bar per project: stage, scenes, words, tokens, cost and ETA. `pause()` takes the
 * bars off the screen (to ask a question); the next event draws them anew below the answer.
 */
export function terminalBarSink(stream: NodeJS.WriteStream): {
  sink: ProgressSink;
  log(line: string): void;
  pause(): void;
  stop(): void;
} {
  let multi: MultiBar | undefined;
  const bars = new Map<number, SingleBar>();
  const screen = () => {
    multi ??= new MultiBar(
      {
        stream,
        format:
          "{stage} |{bar}| {value}/{total} scenes · {words}/{target} words · {tokens} tok · {cost} · ETA {etaText}",
        hideCursor: true,
        clearOnComplete: false,
      },
      Presets.shades_classic,
    );
    return multi;
  };
  const barFor = (projectId: number, total: number) => {
    let bar = bars.get(projectId);
    if (!bar) {
      bar = screen().create(total, 0, {
        stage: "Planning",
        words: "0",
        target: "?",
        tokens: "0",
        cost: "$0.00",
        etaText: "—",
      });
      bars.set(projectId, bar);
    }
    return bar;
  };
  const log = (line: string) => {
    const bars = screen();
    bars.log(`${line}\n`);
    // Logged lines are written at the next redraw; draw now so the line survives an immediate stop.
    bars.update();
  };
  const sink: ProgressSink = (e) => {
    if ("progress" in e) {
      const p =
        e.type === "scene_revised" ? { ...e.progress, scenesDone: e.done, sceneCount: e.total } : e.progress;
      const bar = barFor(e.projectId, p.sceneCount);
      bar.setTotal(p.sceneCount);
      bar.update(p.scenesDone, {
        stage: p.queued
          ? `${"label" in e ? `${e.label}: ` : ""}${queueLine(p.queued.ahead, p.queued.etaMs)}`
          : "label" in e
            ? p.step
              ? `${e.label}: ${p.step.now}`
              : e.label
            : (EVENT_STAGE[e.type] ?? e.type),
        words: p.writing
          ? `${fmt(p.words)} (+${fmt(p.writing.words)} in scene ${p.writing.scene})`
          : fmt(p.words),
        target: fmt(p.targetWords),
        tokens: fmt(p.promptTokens + p.completionTokens),
        cost: `$${p.costUsd.toFixed(2)}`,
        etaText: formatDuration(p.etaMs),
      });
    } else if (e.type === "stage_started") {
      barFor(e.projectId, 1).update({ stage: e.label });
    } else {
      const line = plainLine(e);
      if (line) log(line);
    }
  };
  const stop = () => {
    multi?.stop();
    multi = undefined;
    bars.clear();
  };
  return { sink, log, pause: stop, stop };
}

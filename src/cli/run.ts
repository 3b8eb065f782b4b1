/** Running projects in the foreground until they settle, asking the author at each approval gate. */
import { createInterface } from "node:readline/promises";
import type { Engine } from "../app";
import { approve, describeStatus, resume as resumeProject, retry, reviseOutline } from "../pipeline/actions";
import type { ProgressEvent, ProgressSink } from "../pipeline/events";
import { getProject, loadPlan, progressOf } from "../pipeline/store";
import { gateAt, type StageId } from "../pipeline/workflow";
import { openEngine } from "./engine";
import { describeProgress, plainLineSink, terminalBarSink } from "./progress";

/**
 * Runs the scheduler for these projects until each is done, stopped, or waiting at a gate the
 * author declines to pass. Exit code 1 when any project ended in "needs attention".
 */
export async function runUntilSettled(ids: number[], yes: boolean): Promise<number> {
  const pending = new Set(ids);
  let settle: () => void = () => {};
  const settled = new Promise<void>((r) => {
    settle = r;
  });
  const finish = (id: number) => {
    pending.delete(id);
    if (pending.size === 0) settle();
  };
  let gates = Promise.resolve();
  const askAtGate = (id: number, gate: StageId) => {
    gates = gates.then(async () => {
      bar?.pause();
      const answer = yes ? { action: "approve" as const } : await askAtTerminal(engine, id, gate);
      if (answer.action === "stop") {
        finish(id);
        return;
      }
      const result =
        answer.action === "revise" ? reviseOutline(engine.db, id, answer.notes) : approve(engine.db, id);
      process.stdout.write(`${result.message}\n`);
      engine.scheduler.wake();
    });
  };
  const control: ProgressSink = (event: ProgressEvent) => {
    if (event.type === "gate") askAtGate(event.projectId, event.stage);
    if (["done", "paused", "cancelled", "needs_attention"].includes(event.type)) finish(event.projectId);
  };
  const bar = process.stderr.isTTY ? terminalBarSink(process.stderr) : undefined;
  const display = bar?.sink ?? plainLineSink((line) => process.stdout.write(`${line}\n`));
  const engine = openEngine({ onlyProjects: ids, sinks: [display, control], say: bar?.log });
  const stopOnSignal = () => {
    process.stderr.write(
      "\nStopping: the unit in flight finishes or is aborted within 10 s; nothing written is lost.\n",
    );
    void engine.close().then(() => process.exit(130));
  };
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);
  try {
    for (const id of ids) prepareToRun(engine, id, finish, askAtGate);
    engine.scheduler.start();
    if (pending.size > 0) await settled;
    await gates;
    await engine.scheduler.stop();
    bar?.stop();
    return ids.map((id) => reportOutcome(engine, id)).includes("needs_attention") ? 1 : 0;
  } finally {
    await engine.close();
  }
}

function reportOutcome(engine: Engine, id: number): string | undefined {
  const p = getProject(engine.db, id);
  if (!p) return undefined;
  const line =
    p.status === "needs_attention"
      ? `Project ${id} needs attention: ${p.attention}\nFix the cause, then run: folio resume ${id}`
      : p.status === "waiting"
        ? `Project ${id} is ${describeStatus(p)}. Continue with: folio resume ${id}`
        : `Project ${id} is ${describeStatus(p)}. ${describeProgress(progressOf(engine.db, p))}`;
  process.stdout.write(`${line}\n`);
  return p.status;
}

/** Puts a project that stopped earlier back into a runnable state, as `resume` promises. */
function prepareToRun(
  engine: Engine,
  id: number,
  finish: (id: number) => void,
  askAtGate: (id: number, gate: StageId) => void,
): void {
  const project = getProject(engine.db, id);
  if (!project) {
    finish(id);
    return;
  }
  if (project.status === "paused") resumeProject(engine.db, id);
  else if (project.status === "needs_attention") retry(engine.db, id);
  else if (project.status === "waiting" && gateAt(project.stage)) {
    askAtGate(id, project.stage);
  } else if (project.status === "done" || project.status === "cancelled") finish(id);
}

type GateAnswer = { action: "approve" } | { action: "revise"; notes: string } | { action: "stop" };

/** Shows what waits for approval and asks the author; without a terminal, the project simply waits. */
async function askAtTerminal(engine: Engine, id: number, stage: StageId): Promise<GateAnswer> {
  const gate = gateAt(stage);
  if (!gate) return { action: "stop" };
  const p = progressOf(engine.db, getProject(engine.db, id)!);
  const shown = gate.present({ plan: loadPlan(engine.db, id), scenesDone: p.scenesDone, words: p.words });
  process.stdout.write(`\n${shown.title} (project ${id})${shown.summary ? `: ${shown.summary}` : ""}\n`);
  for (const line of shown.lines) process.stdout.write(`  ${line.label} — ${line.detail}\n`);
  if (!process.stdin.isTTY) {
    process.stdout.write(
      `The ${gate.subject} waits for approval (no terminal to ask on): continue with folio resume ${id} --yes\n`,
    );
    return { action: "stop" };
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const options = gate.revises ? "[y]es, [r]evise with notes, [N]o" : "[y]es, [N]o";
    const reply = (await rl.question(`Approve the ${gate.subject}? ${options}: `)).trim().toLowerCase();
    if (/^y(es)?$/.test(reply)) return { action: "approve" };
    if (gate.revises && /^r(evise)?$/.test(reply)) {
      const notes = (await rl.question(`What should change in the ${gate.subject}? `)).trim();
      if (notes) return { action: "revise", notes };
    }
    return { action: "stop" };
  } finally {
    rl.close();
  }
}

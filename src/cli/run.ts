/** Running projects in the foreground until they settle, asking the author at each approval gate. */
import { createInterface } from "node:readline/promises";
import type { Engine } from "../app";
import { approve, describeStatus, resume as resumeProject, retry, reviseOutline } from "../pipeline/actions";
import type { ProgressSink } from "../pipeline/events";
import { gateView } from "../pipeline/notes";
import { getProject, progressOf } from "../pipeline/store";
import { gateAt, type StageId } from "../pipeline/workflow";
import { openEngine } from "./engine";
import { describeProgress, plainLineSink, terminalBarSink } from "./progress";

/** How often the command reads its projects' rows to see whether they have settled. */
const SETTLE_POLL_MS = 200;

/** What the command knows of one project while it runs. */
interface Watched {
  /** The status version whose gate the author was asked about (or is being asked about). */
  askedAt?: number;
  asking?: boolean;
  /** The other process last announced as holding the project. */
  announced?: string;
}

/**
 * Runs the scheduler for these projects until each is done, stopped, or waiting at a gate the author
 * declines to pass. Whether a project has settled is read from its row, not from events: a project
 * another process is working on, or one whose approval was refused, settles all the same. Exit code
 * 1 when any project ended in "needs attention"; 130 when the author pressed Ctrl-C.
 */
export async function runUntilSettled(ids: number[], yes: boolean): Promise<number> {
  const pending = new Map<number, Watched>(ids.map((id) => [id, {}]));
  let interrupted = false;
  let wakeLoop: () => void = () => {};
  const bar = process.stderr.isTTY ? terminalBarSink(process.stderr) : undefined;
  const display = bar?.sink ?? plainLineSink((line) => process.stdout.write(`${line}\n`));
  const control: ProgressSink = () => wakeLoop();
  const engine = openEngine({ onlyProjects: ids, sinks: [display, control], say: bar?.log });
  let gates = Promise.resolve();
  const askAtGate = (id: number, gate: StageId, watched: Watched) => {
    watched.asking = true;
    gates = gates
      .then(async () => {
        if (interrupted) return;
        bar?.pause();
        const answer = yes ? { action: "approve" as const } : await askAtTerminal(engine, id, gate);
        if (answer.action === "interrupt") {
          interrupted = true;
          return;
        }
        if (answer.action === "stop") {
          pending.delete(id);
          return;
        }
        const result =
          answer.action === "revise"
            ? await reviseOutline(engine.db, id, answer.notes)
            : await approve(engine.db, id);
        process.stdout.write(`${result.message}\n`);
        engine.scheduler.wake();
      })
      .catch((error: unknown) => {
        process.stderr.write(`folio: ${error instanceof Error ? error.message : String(error)}\n`);
        pending.delete(id);
      })
      .finally(() => {
        watched.asking = false;
        wakeLoop();
      });
  };
  const stopOnSignal = () => {
    interrupted = true;
    wakeLoop();
  };
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);
  try {
    for (const id of ids) await prepareToRun(engine, id);
    await engine.scheduler.start();
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => check(), SETTLE_POLL_MS);
      // One look at the rows at a time; a wake during a look asks for another after it.
      let looking = false;
      let again = false;
      const look = async () => {
        if (!interrupted) {
          for (const [id, watched] of pending) {
            if (await settledNow(engine, id, watched, askAtGate)) pending.delete(id);
          }
        }
        if (interrupted || pending.size === 0) {
          clearInterval(timer);
          resolve();
        }
      };
      const check = () => {
        if (looking) {
          again = true;
          return;
        }
        looking = true;
        look().then(
          () => {
            looking = false;
            if (again) {
              again = false;
              check();
            }
          },
          (error: unknown) => {
            clearInterval(timer);
            reject(error);
          },
        );
      };
      wakeLoop = () => setImmediate(check);
      check();
    });
    if (interrupted) {
      bar?.stop();
      process.stderr.write(
        "\nStopping: the unit in flight finishes or is aborted within 10 s; nothing written is lost.\n",
      );
      await engine.close();
      process.stdout.write(`Stopped. Continue with: folio resume ${ids.join(" ")}\n`);
      return 130;
    }
    await gates;
    await engine.scheduler.stop();
    bar?.stop();
    const outcomes = [];
    for (const id of ids) outcomes.push(await reportOutcome(engine, id));
    return outcomes.includes("needs_attention") ? 1 : 0;
  } finally {
    process.off("SIGINT", stopOnSignal);
    process.off("SIGTERM", stopOnSignal);
    await engine.close();
  }
}

/**
 * Whether the project has settled, by its row: finished, stopped or needing attention; or waiting at
 * a gate the author was already asked about. A gate not yet asked about is asked now; a project held
 * by another process is announced once per holder, and waited for.
 */
async function settledNow(
  engine: Engine,
  id: number,
  watched: Watched,
  askAtGate: (id: number, gate: StageId, watched: Watched) => void,
): Promise<boolean> {
  const project = await getProject(engine.db, id);
  if (!project) return true;
  if (["done", "cancelled", "paused", "needs_attention"].includes(project.status)) return !watched.asking;
  if (project.status === "waiting") {
    if (watched.asking) return false;
    if (watched.askedAt === project.statusVersion || !gateAt(project.stage)) return true;
    watched.askedAt = project.statusVersion;
    askAtGate(id, project.stage, watched);
    return false;
  }
  const owner = project.leaseOwner;
  const held = owner && owner !== engine.scheduler.owner && (project.leaseExpiresAt ?? 0) > Date.now();
  if (held && watched.announced !== owner) {
    watched.announced = owner;
    const until = new Date(project.leaseExpiresAt!).toTimeString().slice(0, 8);
    process.stdout.write(`Project ${id} is held by ${owner} until ${until}; waiting…\n`);
  }
  return false;
}

async function reportOutcome(engine: Engine, id: number): Promise<string | undefined> {
  const p = await getProject(engine.db, id);
  if (!p) return undefined;
  const line =
    p.status === "needs_attention"
      ? `Project ${id} needs attention: ${p.attention}\nFix the cause, then run: folio resume ${id}`
      : p.status === "waiting"
        ? `Project ${id} is ${describeStatus(p)}. Continue with: folio resume ${id}`
        : `Project ${id} is ${describeStatus(p)}. ${describeProgress(await progressOf(engine.db, p))}`;
  process.stdout.write(`${line}\n`);
  return p.status;
}

/** Puts a project that stopped earlier back into a runnable state, as `resume` promises. */
async function prepareToRun(engine: Engine, id: number): Promise<void> {
  const project = await getProject(engine.db, id);
  if (project?.status === "paused") await resumeProject(engine.db, id);
  else if (project?.status === "needs_attention") await retry(engine.db, id);
}

type GateAnswer =
  | { action: "approve" }
  | { action: "revise"; notes: string }
  | { action: "stop" }
  | { action: "interrupt" };

/** Shows what waits for approval and asks the author; without a terminal, the project simply waits. */
async function askAtTerminal(engine: Engine, id: number, stage: StageId): Promise<GateAnswer> {
  const gate = gateAt(stage);
  if (!gate) return { action: "stop" };
  const p = await progressOf(engine.db, (await getProject(engine.db, id))!);
  const shown = gate.present(await gateView(engine.db, id, p));
  process.stdout.write(`\n${shown.title} (project ${id})${shown.summary ? `: ${shown.summary}` : ""}\n`);
  for (const line of shown.lines) process.stdout.write(`  ${line.label} — ${line.detail}\n`);
  if (!process.stdin.isTTY) {
    process.stdout.write(
      `The ${gate.subject} waits for approval (no terminal to ask on): continue with folio resume ${id} --yes\n`,
    );
    return { action: "stop" };
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // Ctrl-C at the question stops the command as Ctrl-C anywhere else does; Ctrl-D (no more input)
  // leaves the gate unanswered, as "no" does.
  const interrupted = new Promise<GateAnswer>((resolve) => {
    rl.once("SIGINT", () => resolve({ action: "interrupt" }));
  });
  const ask = (question: string) =>
    Promise.race([
      rl.question(question).then(
        (reply): GateAnswer | string => reply,
        (): GateAnswer => ({ action: "stop" }),
      ),
      interrupted,
    ]);
  try {
    const options = gate.revises ? "[y]es, [r]evise with notes, [N]o" : "[y]es, [N]o";
    const reply = await ask(`Approve the ${gate.subject}? ${options}: `);
    if (typeof reply !== "string") return reply;
    if (/^y(es)?$/.test(reply.trim().toLowerCase())) return { action: "approve" };
    if (gate.revises && /^r(evise)?$/.test(reply.trim().toLowerCase())) {
      const notes = await ask(`What should change in the ${gate.subject}? `);
      if (typeof notes !== "string") return notes;
      if (notes.trim()) return { action: "revise", notes: notes.trim() };
    }
    return { action: "stop" };
  } finally {
    rl.close();
  }
}

import { renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { Project } from "../db/schema";
import { createEngine, type Engine } from "./app";
import { describeProgress, plainLineSink, terminalBarSink } from "./cli/progress";
import { ConfigError, loadConfig } from "./config";
import { EXPORT_FORMATS, type ExportFormat } from "./export/index";
import { createLogger } from "./log";
import {
  approve,
  createProject,
  describeStatus,
  parseNewProject,
  resume as resumeProject,
  retry,
  reviseOutline,
  rollbackScene,
  sceneHistory,
} from "./pipeline/actions";
import type { ProgressEvent, ProgressSink } from "./pipeline/events";
import { renderExport } from "./pipeline/manuscript";
import {
  allProjects,
  getProject,
  latestProject,
  loadPlan,
  progressOf,
  unfinishedProjects,
} from "./pipeline/store";
import { gateAt, type StageId, stageLabel } from "./pipeline/workflow";
import { countWords } from "./text/words";

const USAGE = `Usage:
  folio write --premise "…" [--title T] [--genre G] [--voice V] [--scenes 50] [--words 60000] [--yes] [--out novel.docx]
  folio status
  folio resume [ID] [--yes]
  folio export [ID] [--format docx|epub|markdown] [--out FILE]
  folio versions ID SCENE
  folio rollback ID SCENE VERSION

--yes passes both approval gates; without it Folio asks on the terminal.`;

/** A mistake in how the command was called: printed as one line, exit code 2. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "write":
      return write(rest);
    case "status":
      return status();
    case "resume":
      return resumeCommand(rest);
    case "export":
      return exportCommand(rest);
    case "versions":
      return versionsCommand(rest);
    case "rollback":
      return rollbackCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`Unknown command "${command}".\n${USAGE}`);
  }
}

function parse<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: T) {
  try {
    return parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function openEngine(
  options: { onlyProjects?: number[]; sinks?: ProgressSink[]; say?: (line: string) => void } = {},
): Engine {
  const say = options.say ?? ((line: string) => process.stdout.write(`${line}\n`));
  const config = loadConfig();
  const log = createLogger(process.env.LOG_LEVEL ? config.LOG_LEVEL : "error");
  const engine: Engine = createEngine(config, log, {
    sinks: options.sinks ?? [],
    deliver: async (project) => {
      const path = await writeExport(engine, project, "docx", project.exportPath ?? undefined);
      say(`Wrote ${path}`);
    },
    scheduler: { onlyProjects: options.onlyProjects, host: "cli" },
  });
  return engine;
}

/** Writes the book and, beside it, its manuscript report; returns both paths. */
async function writeExport(
  engine: Engine,
  project: Project,
  format: ExportFormat,
  out?: string,
): Promise<string> {
  const files = await renderExport(engine.db, project, engine.config.FOLIO_AUTHOR_NAME, format);
  const bookPath = fromCaller(out ?? files.book.name);
  const reportPath = bookPath.replace(/(\.[^./]+)?$/, ".report.md");
  writeAtomically(bookPath, files.book.data);
  writeAtomically(reportPath, files.report.data);
  if (files.missing.length > 0) {
    process.stderr.write(`Partial manuscript: scenes ${files.missing.join(", ")} are not written yet.\n`);
  }
  return `${bookPath} and ${reportPath}`;
}

function writeAtomically(path: string, data: Buffer): void {
  const temporary = `${path}.partial-${process.pid}`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

async function write(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    premise: { type: "string" },
    title: { type: "string" },
    genre: { type: "string" },
    voice: { type: "string" },
    scenes: { type: "string" },
    words: { type: "string" },
    yes: { type: "boolean", short: "y" },
    out: { type: "string", short: "o" },
  });
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}".`);
  if (values.premise === undefined) throw new UsageError('--premise is required: folio write --premise "…"');
  const request = parseNewProject({
    premise: values.premise,
    title: values.title,
    genre: values.genre,
    voice: values.voice,
    scenes: values.scenes === undefined ? undefined : strictNumber(values.scenes),
    words: values.words === undefined ? undefined : strictNumber(values.words),
    autoApprove: values.yes ?? false,
  });
  if (!request.ok) throw new UsageError(request.message);
  const engine = openEngine();
  const project = createProject(engine.db, request.value, {
    ownerId: "cli",
    exportPath: values.out ? fromCaller(values.out) : null,
  });
  await engine.close();
  process.stdout.write(
    `Project ${project.id}: ${project.sceneCount} scenes, ${project.targetWords} words.\n`,
  );
  return runUntilSettled([project.id], values.yes ?? false);
}

/**
 * A path as the author typed it. `npm run folio` moves to the package root and keeps the caller's
 * directory in INIT_CWD; any other way of starting the command runs where the author is.
 */
function fromCaller(path: string): string {
  const viaNpmScript = process.env.npm_lifecycle_event === "folio" && process.env.INIT_CWD;
  return resolve(viaNpmScript ? process.env.INIT_CWD! : process.cwd(), path);
}

/** "12abc" and "" are not numbers, whatever parseFloat thinks. */
function strictNumber(text: string): number {
  return /^\s*-?\d+(\.\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
}

async function status(): Promise<number> {
  const engine = openEngine();
  try {
    const projects = allProjects(engine.db);
    if (projects.length === 0)
      process.stdout.write('No projects yet. Start one with: folio write --premise "…"\n');
    for (const p of projects) {
      const progress = progressOf(engine.db, p);
      const where = p.status === "running" ? stageLabel(p.stage) : describeStatus(p);
      const attention = p.attention ? ` · ${p.attention}` : "";
      process.stdout.write(
        `${p.id}\t${where}\t${describeProgress(progress)}\t${p.title ?? "(untitled)"}${attention}\n`,
      );
    }
    return 0;
  } finally {
    await engine.close();
  }
}

async function resumeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { yes: { type: "boolean", short: "y" } });
  const engine = openEngine();
  let ids: number[];
  try {
    ids =
      positionals.length > 0
        ? positionals.map((p) => commandLineProject(engine, p).id)
        : unfinishedProjects(engine.db)
            .filter((p) => p.threadId === null)
            .map((p) => p.id);
  } finally {
    await engine.close();
  }
  if (ids.length === 0) {
    process.stdout.write("Nothing to resume: every command-line project is finished or cancelled.\n");
    return 0;
  }
  return runUntilSettled(ids, values.yes ?? false);
}

/** A project the command line may run: one started in Discord is run by the bot, in its thread. */
function commandLineProject(engine: Engine, text: string): Project {
  const project = projectId(engine, text);
  if (project.threadId) {
    throw new UsageError(
      `Project ${project.id} belongs to a Discord thread: resume it there with /novel resume.`,
    );
  }
  return project;
}

function projectId(engine: Engine, text: string | undefined): Project {
  if (text === undefined) {
    const latest = latestProject(engine.db);
    if (!latest) throw new UsageError('There are no projects yet. Start one with: folio write --premise "…"');
    return latest;
  }
  const id = Number(text);
  const project = Number.isInteger(id) ? getProject(engine.db, id) : undefined;
  if (!project) throw new UsageError(`There is no project "${text}". Run folio status to list projects.`);
  return project;
}

async function versionsCommand(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  const [idText, sceneText] = positionals;
  if (!idText || !sceneText) throw new UsageError("Usage: folio versions ID SCENE");
  const engine = openEngine();
  try {
    const project = projectId(engine, idText);
    const history = sceneHistory(engine.db, project.id, wholeNumber(sceneText, "SCENE"));
    if (history.length === 0)
      throw new UsageError(`Scene ${sceneText} of project ${project.id} has no versions yet.`);
    const current = history.filter((v) => !v.note?.startsWith("rejected")).at(-1);
    for (const v of history) {
      const when = new Date(v.createdAt).toISOString().replace("T", " ").slice(0, 19);
      const mark = v === current ? "*" : " ";
      process.stdout.write(
        `${mark} ${v.id}\t${v.stage}\t${countWords(v.text)} words\t${when}${v.note ? `\t${v.note}` : ""}\n`,
      );
    }
    return 0;
  } finally {
    await engine.close();
  }
}

async function rollbackCommand(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  const [idText, sceneText, versionText] = positionals;
  if (!idText || !sceneText || !versionText) throw new UsageError("Usage: folio rollback ID SCENE VERSION");
  const engine = openEngine();
  try {
    const project = projectId(engine, idText);
    const result = rollbackScene(
      engine.db,
      project.id,
      wholeNumber(sceneText, "SCENE"),
      wholeNumber(versionText, "VERSION"),
    );
    if (!result.ok) throw new UsageError(result.message);
    process.stdout.write(`${result.message}\n`);
    return 0;
  } finally {
    await engine.close();
  }
}

function wholeNumber(text: string, name: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a whole number, not "${text}".`);
  return Number(text);
}

async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    format: { type: "string", short: "f" },
    out: { type: "string", short: "o" },
  });
  const format = (values.format ?? "docx") as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(", ")}.`);
  }
  const engine = openEngine();
  try {
    const project = projectId(engine, positionals[0]);
    const path = await writeExport(engine, project, format, values.out);
    process.stdout.write(`Wrote ${path}\n`);
    return 0;
  } finally {
    await engine.close();
  }
}

/**
 * Runs the scheduler for these projects until each is done, stopped, or waiting at a gate the
 * author declines to pass. Exit code 1 when any project ended in "needs attention".
 */
async function runUntilSettled(ids: number[], yes: boolean): Promise<number> {
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`folio: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);

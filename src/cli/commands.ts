/** The subcommands: write, status, resume, versions, rollback and export. */
import { EXPORT_FORMATS, type ExportFormat } from "../export/index";
import {
  createProject,
  describeStatus,
  parseNewProject,
  rollbackScene,
  sceneHistory,
} from "../pipeline/actions";
import { chapterNotesOf, setChapterNote } from "../pipeline/notes";
import { statusView } from "../pipeline/status";
import { allProjects, progressOf, unfinishedProjects } from "../pipeline/store";
import { stageLabel } from "../pipeline/workflow";
import { queueLine } from "../text/format";
import { countWords } from "../text/words";
import { commandLineProject, parse, projectId, strictNumber, UsageError, wholeNumber } from "./args";
import { openEngine } from "./engine";
import { fromCaller, writeExport } from "./files";
import { describeProgress } from "./progress";
import { runUntilSettled } from "./run";

export async function write(args: string[]): Promise<number> {
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
  const project = await createProject(engine.db, request.value, {
    ownerId: "cli",
    exportPath: values.out ? fromCaller(values.out) : null,
  });
  await engine.close();
  process.stdout.write(
    `Project ${project.id}: ${project.sceneCount} scenes, ${project.targetWords} words.\n`,
  );
  return runUntilSettled([project.id], values.yes ?? false);
}

export async function status(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  if (positionals.length > 1) throw new UsageError("Usage: folio status [ID]");
  const engine = openEngine({ readOnly: true });
  try {
    if (positionals[0] !== undefined) {
      const project = await projectId(engine, positionals[0]);
      const view = statusView(project, await progressOf(engine.db, project), "cli");
      const lines = [
        view.heading,
        `Premise: ${project.premise}`,
        `Now: ${view.now}`,
        ...(view.attention ? [`Attention: ${view.attention}`] : []),
        view.counts.map((c) => `${c.label} ${c.value}`).join(" · "),
        `You can: ${view.next}`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
      return 0;
    }
    const projects = await allProjects(engine.db);
    if (projects.length === 0)
      process.stdout.write('No projects yet. Start one with: folio write --premise "…"\n');
    for (const p of projects) {
      const progress = await progressOf(engine.db, p);
      const queued =
        p.status === "running" && p.queueAhead !== null ? ` — ${queueLine(p.queueAhead, null)}` : "";
      const where = p.status === "running" ? `${stageLabel(p.stage)}${queued}` : describeStatus(p);
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

export async function resumeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { yes: { type: "boolean", short: "y" } });
  const engine = openEngine();
  let ids: number[];
  try {
    ids = [];
    for (const p of positionals) ids.push((await commandLineProject(engine, p)).id);
    if (positionals.length === 0)
      ids = (await unfinishedProjects(engine.db)).filter((p) => p.host === "cli").map((p) => p.id);
  } finally {
    await engine.close();
  }
  if (ids.length === 0) {
    process.stdout.write("Nothing to resume: every command-line project is finished or cancelled.\n");
    return 0;
  }
  return runUntilSettled(ids, values.yes ?? false);
}

export async function versionsCommand(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  const [idText, sceneText] = positionals;
  if (!idText || !sceneText) throw new UsageError("Usage: folio versions ID SCENE");
  const engine = openEngine({ readOnly: true });
  try {
    const project = await projectId(engine, idText);
    const history = await sceneHistory(engine.db, project.id, wholeNumber(sceneText, "SCENE"));
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

export async function notesCommand(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  const [idText, chapterText, text, ...rest] = positionals;
  if (!idText || rest.length > 0) throw new UsageError('Usage: folio notes ID [CHAPTER ["note"]]');
  const engine = openEngine({ readOnly: true });
  try {
    const project = await projectId(engine, idText);
    const chapter = chapterText === undefined ? undefined : wholeNumber(chapterText, "CHAPTER");
    if (text === undefined) {
      const notes = (await chapterNotesOf(engine.db, project.id)).filter(
        (n) => chapter === undefined || n.chapter === chapter,
      );
      if (notes.length === 0)
        process.stdout.write(
          `${chapter === undefined ? "No chapter has" : `Chapter ${chapter} has`} a note yet. Add one with: folio notes ${project.id} CHAPTER "…"\n`,
        );
      for (const n of notes)
        process.stdout.write(
          `Chapter ${n.chapter}${n.title ? `: ${n.title}` : ""}\n  ${n.text.replace(/\n/g, "\n  ")}\n`,
        );
      return 0;
    }
    const result = await setChapterNote(engine.db, project.id, chapter!, text, "cli");
    if (!result.ok) throw new UsageError(result.message);
    process.stdout.write(`${result.message}\n`);
    if (result.previous !== undefined && text.trim())
      process.stdout.write(`The earlier note was: ${result.previous}\n`);
    return 0;
  } finally {
    await engine.close();
  }
}

export async function rollbackCommand(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  const [idText, sceneText, versionText] = positionals;
  if (!idText || !sceneText || !versionText) throw new UsageError("Usage: folio rollback ID SCENE VERSION");
  const engine = openEngine({ readOnly: true });
  try {
    const project = await projectId(engine, idText);
    const result = await rollbackScene(
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

export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    format: { type: "string", short: "f" },
    out: { type: "string", short: "o" },
  });
  const format = (values.format ?? "docx") as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(", ")}.`);
  }
  const engine = openEngine({ readOnly: true });
  try {
    const project = await projectId(engine, positionals[0]);
    const path = await writeExport(engine, project, format, values.out);
    process.stdout.write(`Wrote ${path}\n`);
    return 0;
  } finally {
    await engine.close();
  }
}

/** What the author typed, checked: options, numbers and project ids, with one-line usage errors. */
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { Project } from "../../db/schema";
import type { Engine } from "../app";
import { getProject, latestProject } from "../pipeline/store";

/** A mistake in how the command was called: printed as one line, exit code 2. */
export class UsageError extends Error {}

export function parse<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: T) {
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

/** "12abc" and "" are not numbers, whatever parseFloat thinks. */
export function strictNumber(text: string): number {
  return /^\s*-?\d+(\.\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
}

export function wholeNumber(text: string, name: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a whole number, not "${text}".`);
  return Number(text);
}

/** A project the command line may run: one started in Discord is run by the bot, in its thread. */
export async function commandLineProject(engine: Engine, text: string): Promise<Project> {
  const project = await projectId(engine, text);
  if (project.host !== "cli") {
    throw new UsageError(
      `Project ${project.id} belongs to a Discord thread: resume it there with /novel resume.`,
    );
  }
  return project;
}

export async function projectId(engine: Engine, text: string | undefined): Promise<Project> {
  if (text === undefined) {
    const latest = await latestProject(engine.db);
    if (!latest) throw new UsageError('There are no projects yet. Start one with: folio write --premise "…"');
    return latest;
  }
  const id = Number(text);
  const project = Number.isInteger(id) ? await getProject(engine.db, id) : undefined;
  if (!project) throw new UsageError(`There is no project "${text}". Run folio status to list projects.`);
  return project;
}

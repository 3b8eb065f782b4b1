import { z } from "zod";
import type { CallOptions, Messages, Model, ModelRole } from "../src/llm/types";
import { thousands } from "../src/text/format";
import type { Beats } from "./beats";
import type { Cast } from "./characters";
import type { Concept } from "./concept";
import type { Outline } from "./outline";
import type { World } from "./world";

/** What planning has produced so far; each stage reads the ones before it. */
export interface Plan {
  concept?: Concept;
  world?: World;
  beats?: Beats;
  characters?: Cast;
  outline?: Outline;
}

/** What stages read of a project: the author's request, never its scheduling state. */
export interface ProjectBrief {
  id: number;
  /** Who asked for it: model slots are shared fairly between authors. */
  ownerId?: string;
  premise: string;
  title: string | null;
  genre: string | null;
  voice: string | null;
  sceneCount: number;
  targetWords: number;
  /** The author's notes for the run in progress (an outline revision, a scene redraft). */
  revisionNotes: string | null;
}

export interface StageContext {
  project: ProjectBrief;
  plan: Plan;
  llm: Model;
  signal: AbortSignal;
  /** Told the words of a scene while it streams in, for live progress. */
  writing?: (scene: number, words: number) => void;
  /** Words asked for and written in this project's drafts so far, kept while the project runs here. */
  lengths?: LengthRecord;
  /**
   * Work done ahead of the scene it serves, while another scene is written: it is no step of that
   * scene's unit, so it does not take the place in the queue the scene being written keeps.
   */
  ahead?: boolean;
}

/**
 * How far the model under-writes: the share of the asked-for words each recent draft came with, latest
 * last. A few are kept, so the ask follows the model without one runaway answer swaying it.
 */
export interface LengthRecord {
  shares: number[];
}

/** Tags a call with the project and stage it serves, so `llm_calls` can be summed per stage. */
export function callFor(
  ctx: StageContext,
  stage: string,
  role: ModelRole,
  purpose: string,
  sceneNumber?: number,
): CallOptions {
  return {
    projectId: ctx.project.id,
    ...(ctx.project.ownerId ? { owner: ctx.project.ownerId } : {}),
    stage,
    role,
    purpose,
    sceneNumber: sceneNumber ?? null,
    signal: ctx.signal,
  };
}

/** The unit of work of writing one scene's text: its plan, its draft and any expansion (see `CallOptions.unit`). */
export function sceneUnit(stage: string, scene: number): string {
  return `${stage}:${scene}`;
}

export function need<K extends keyof Plan>(plan: Plan, key: K): NonNullable<Plan[K]> {
  const value = plan[key];
  if (value === undefined) throw new Error(`planning artifact "${key}" is missing`);
  return value as NonNullable<Plan[K]>;
}

/** The most scenes a book may have; numbers the model writes about scenes and chapters stay within it. */
export const MAX_SCENES = 120;

/**
 * A string that must say something. Checked after the answer arrives rather than with `minLength`,
 * which strict structured outputs do not accept from every model.
 */
export const nonEmpty = () => z.string().refine((text) => text.trim().length > 0, "must not be empty");

/** Shared opening of every planning prompt. */
export const PLANNER_SYSTEM =
  "You are a senior novelist and story architect planning a commercial novel with its author. " +
  "Be specific and concrete: named people, places and objects, not abstractions. " +
  "Answer only with JSON that matches the requested schema.";

/**
 * One planning call: the planner's standing instructions, the request, and an answer checked by
 * `schema`. Given several requests, ever shorter, the first that fits the model's window is sent.
 */
export async function askPlanner<S extends z.ZodType>(
  ctx: StageContext,
  call: { stage: string; name: string; purpose: string; outputTokens: number },
  schema: S,
  request: string | string[],
): Promise<z.output<S>> {
  const opts = { ...callFor(ctx, call.stage, "plan", call.purpose), outputTokens: call.outputTokens };
  const asked = (text: string): Messages => [
    { role: "system", content: PLANNER_SYSTEM },
    { role: "user", content: text },
  ];
  const messages =
    typeof request === "string" ? asked(request) : ctx.llm.firstThatFits(request.map(asked), opts);
  const { value } = await ctx.llm.structured(schema, call.name, messages, opts);
  return value;
}

export function premiseBlock(project: ProjectBrief): string {
  const lines = [`Premise: ${project.premise}`];
  if (project.title) lines.push(`Working title chosen by the author: ${project.title}`);
  if (project.genre) lines.push(`Genre requested by the author: ${project.genre}`);
  if (project.voice) lines.push(`Voice requested by the author: ${project.voice}`);
  lines.push(`Length: ${project.sceneCount} scenes, about ${thousands(project.targetWords)} words.`);
  return lines.join("\n");
}

/**
 * A schema that depends on a count, made once per count: the model client turns each schema object
 * into its wire form once, so the same count must give back the same object.
 */
export function perCount<T>(make: (count: number) => T): (count: number) => T {
  const made = new Map<number, T>();
  return (count) => {
    let schema = made.get(count);
    if (schema === undefined) {
      schema = make(count);
      made.set(count, schema);
    }
    return schema;
  };
}

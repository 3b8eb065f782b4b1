import type { Messages } from "../src/llm/types";
import type { DigestInput, SceneDigest } from "./draft";
import type { Outline, SceneCard } from "./outline";
import type { RevisionScene } from "./rewrite";
import type { Beat } from "./scene-plan";
import type { Plan, ProjectBrief, StageContext } from "./types";

/**
 * What a stage file exports: one definition saying what the stage is (id, label, kind), what it needs
 * from planning, how one unit of it runs and how its output is shown. The pipeline runs definitions by
 * their kind and finds them in the workflow's list; stages get its help through small interfaces
 * (`StageContext`, `RevisionRun`), so they know nothing of the database, the scheduler or Discord.
 */
export type StageDefinition = PlanStage | GateStage | SceneLoopStage | RevisionStage | DeliveryStage;
export type StageKind = StageDefinition["kind"];
export type PlanKey = keyof Plan;

/** A file attached to a stage's announcement (Discord) or printed by the command line. */
export interface Artifact {
  name: string;
  markdown: string;
}

/** How a finished stage is announced: a short summary and the full artifacts. */
export interface Presentation {
  summary: string;
  artifacts: Artifact[];
}

interface StageBase {
  /** The project's `stage` column while this stage's units run. */
  id: string;
  label: string;
  /** Planning artifacts this stage reads; the pipeline checks they exist before running it. */
  needs: readonly PlanKey[];
}

/** What storing a plan output changes besides the output row, in the same transaction. */
export interface PlanEffects {
  /** The book's title, once the concept names it. */
  title?: string;
  /** Scene and chapter rows are laid out anew from this outline. */
  outline?: Outline;
  /** The author's revision notes were used up by this run. */
  notesUsed?: boolean;
}

/**
 * The pipeline's help to a plan stage that makes several calls: each part of the answer is stored as it
 * arrives, so a run stopped by a crash asks again only for the part that was in flight. Parts belong to
 * one run of the stage: they are dropped when its artifact is stored, and a later run (a revision with
 * the author's notes) starts with none.
 */
export interface PlanParts {
  recall<T>(name: string): Promise<T | undefined>;
  remember(name: string, data: unknown): Promise<void>;
  /** Tells the author the stage is asking for its next part: `done` of `total` are stored. */
  step(now: string, done: number, total: number): void;
}

/** Produces a planning artifact, in one call or in parts; the whole stage is one unit. */
export interface PlanStage extends StageBase {
  kind: "plan";
  produces: PlanKey;
  run(ctx: StageContext, parts: PlanParts): Promise<unknown>;
  present(output: never): Presentation;
  effects?(output: never): PlanEffects;
}

/** What a gate shows the author: the same words on a terminal and in a thread. */
export interface GatePresentation {
  /** "Outline ready for approval", "Draft complete: 50 scenes, 61,204 words". */
  title: string;
  icon: string;
  summary: string;
  /** One line per chapter (or none), for a quick read before the artifacts. */
  lines: { label: string; detail: string }[];
  artifacts: Artifact[];
}

export interface GateView {
  plan: Plan;
  scenesDone: number;
  words: number;
  /** Chapters the author has written a note on (for revision). */
  notedChapters: number;
}

/** Where the project waits for its author; `autoApprove` passes it. */
export interface GateStage extends StageBase {
  kind: "gate";
  /** What is being approved, in the author's words ("outline", "draft"). */
  subject: string;
  /** What approving starts, for the confirmation ("drafting starts"). */
  approved: string;
  /** The plan stage that runs again with the author's notes (Revise…), when the gate offers it. */
  revises?: PlanStage;
  /** The side trip that redrafts one scene and returns here (Redraft a scene…), when offered. */
  redrafts?: SceneLoopStage;
  present(view: GateView): GatePresentation;
}

/**
 * The variable part of a scene prompt: the scene being drafted and what the writer is told of the story
 * around it, built from summaries, never from the manuscript itself, so its size stays flat.
 */
/** Where everyone and everything stands as a scene begins, chosen for that scene (see the ledger). */
export interface Standing {
  /** The characters on the scene's card, as the scenes before left them. */
  characters: CharacterStanding[];
  /** Others last seen at the scene's place. */
  alsoHere: string[];
  /** Open threads the card touches. */
  threads: string[];
}

export interface CharacterStanding {
  name: string;
  location: string;
  condition: string;
  knows: string[];
  told: string[];
  holds: string[];
  relationships: string[];
}

/** The story before a scene, as the digests tell it. */
export interface StoryBefore {
  earlierChapters: { number: number; title: string; summary: string }[];
  chapterScenes: { number: number; title: string; summary: string }[];
}

export interface SceneContext extends StoryBefore {
  scene: SceneCard;
  /** The story-state ledger as the scene begins; absent before anything has been recorded. */
  standing?: Standing;
  previousScene?: SceneCard;
  nextScene?: SceneCard;
  sceneCount: number;
  chapterCount: number;
  chapterTitle: string;
  previousTail: string | null;
  /** The previous scene whole, with the story before it: the shape of the prompt its digest shares. */
  previousWhole?: { text: string; storyBefore: StoryBefore };
  /**
   * The previous scene's drafting call as this process sent it, with the scene it wrote: this scene
   * may be asked for as the next turn of that conversation, which the provider's cache serves whole.
   */
  conversation?: { sent: Messages; text: string };
  redraft?: { notes: string; previousText: string };
  /** The scene's beat plan with words per beat, once planned. */
  beats?: Beat[] | null;
}

/** A drafted scene, and the messages of the one call that wrote it as it stands (none if it took more). */
export interface DraftedScene {
  text: string;
  sent?: Messages;
}

/**
 * Scenes written one unit at a time. `every`: each scene in order, committed as it is written, with its
 * digest made beside the next scene's drafting. `requested`: the one scene the author asked to redraft,
 * then back to the gate that sent it.
 */
export interface SceneLoopStage extends StageBase {
  kind: "scenes";
  scenes: "every" | "requested";
  prefix(plan: Plan, project: ProjectBrief): string;
  draft(ctx: StageContext, prefix: string, context: SceneContext): Promise<DraftedScene>;
  /** Beat plans for the next scenes not yet planned, in order, stored before they are drafted. */
  planScenes(ctx: StageContext, prefix: string, cards: SceneCard[]): Promise<Beat[][]>;
  digest(
    ctx: StageContext,
    scene: { number: number; title: string },
    text: string,
    input?: DigestInput,
    prefix?: string,
  ): Promise<SceneDigest>;
  digestChapter(
    ctx: StageContext,
    chapter: { number: number; title: string },
    scenes: { number: number; title: string; summary: string }[],
  ): Promise<string>;
}

/** What a pass is meant to do to a scene's length: deepen it, or keep it about as it is. */
export type RewriteDirection = "deepen" | "keep";

/** What a revision step proposes for one scene: a new text for the guard to judge, or no change. */
export type Proposal =
  | { text: string; detail?: Record<string, unknown>; direction?: RewriteDirection }
  | { unchanged: true; detail?: Record<string, unknown> };

/** The pipeline's help to a revision stage: resumable, bounded, guarded loops over the manuscript. */
export interface RevisionRun {
  /** The stage's own id: the name of its step, and the prefix of its sub-steps (`passes.dialogue`). */
  stage: string;
  ctx: StageContext;
  /** The drafting prefix, so rewrites reuse the provider's prompt cache. */
  prefix: string;
  /** Written scenes in order, as they stand now. */
  scenes(): Promise<RevisionScene[]>;
  /** Each scene's digest (summary and continuity facts). */
  digests(): Promise<Map<number, { summary: string | null; facts: string[] | null }>>;
  /**
   * Digests again, with `digest`, every scene whose digest was made from another text than the one that
   * stands (a scene rewritten since), storing each with its ledger rows as it arrives.
   */
  refreshDigests(
    digest: (
      scene: { number: number; title: string; text: string },
      input: DigestInput,
    ) => Promise<SceneDigest>,
  ): Promise<void>;
  /**
   * Runs `propose` for every chosen scene without a result for `step` yet, bounded, committing each
   * guarded outcome as it arrives; every scene gets its chance before the first failure is thrown.
   */
  reviseEach(
    step: string,
    include: (scene: RevisionScene) => boolean,
    propose: (scene: RevisionScene) => Promise<Proposal>,
  ): Promise<void>;
  hasResults(step: string): Promise<boolean>;
  /** An intermediate result stored earlier under `key` (an audit), so a resumed stage does not pay twice. */
  recall<T>(key: string): Promise<T | undefined>;
  remember(key: string, data: unknown): Promise<void>;
  /** Runs tasks with the revision concurrency; all settle before the first failure is thrown. */
  bounded<T, R>(items: T[], task: (item: T) => Promise<R>): Promise<R[]>;
}

/**
 * A pass over the whole manuscript, each scene's result committed as it arrives. `validation` is the
 * last pass: it judges the book against its checks and repairs what fails, and the report reads it.
 */
export interface RevisionStage extends StageBase {
  kind: "revision" | "validation";
  work(run: RevisionRun): Promise<void>;
}

/** Hands the finished book to whoever asked for it; the host decides how (a file, a thread). */
export interface DeliveryStage extends StageBase {
  kind: "delivery";
}

/** What scene drafting and every revision read: the drafting prefix is made of these. */
export const MANUSCRIPT_NEEDS = ["concept", "world", "characters", "outline"] as const satisfies PlanKey[];

/** A revision pass that proposes a new text (or none) for every written scene. */
export const everyScene =
  (propose: (run: RevisionRun, scene: RevisionScene) => Promise<Proposal>) => (run: RevisionRun) =>
    run.reviseEach(
      run.stage,
      () => true,
      (scene) => propose(run, scene),
    );

/** Declares a stage, keeping its id's literal type so the workflow can list every valid position. */
export function defineStage<const D extends StageDefinition>(definition: D): D {
  return definition;
}

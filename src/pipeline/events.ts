import type { Artifact } from "../../stages/definition";
import type { StageId } from "./workflow";

export type { Artifact };

/** Counters shown on every progress surface (terminal bar, Discord progress message). */
export interface ProgressSnapshot {
  scenesDone: number;
  sceneCount: number;
  words: number;
  targetWords: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  costUsd: number;
  elapsedMs: number;
  /** Estimated time to finish the current stage; null until there is a rate to go by. */
  etaMs: number | null;
  /** The scene streaming in right now and its words so far (not yet in `words`). */
  writing?: { scene: number; words: number };
  /** Waiting for a model slot behind other projects: how many, and about how long. */
  queued?: { ahead: number; etaMs: number | null };
  /**
   * A planning stage asked for in parts (the outline: its chapters, then its scene cards a few chapters
   * at a time): the parts stored so far, of how many, and the one being asked for now.
   */
  step?: { done: number; total: number; now: string };
}

export type ProgressEvent =
  | { type: "stage_started"; projectId: number; stage: StageId; label: string }
  | {
      type: "stage_finished";
      projectId: number;
      stage: StageId;
      label: string;
      summary: string;
      artifacts: Artifact[];
      progress: ProgressSnapshot;
    }
  | {
      type: "scene_drafted";
      projectId: number;
      stage: StageId;
      label: string;
      scene: number;
      title: string;
      sceneWords: number;
      progress: ProgressSnapshot;
    }
  | {
      /** A chapter's last scene is drafted: the chapter as written, scene by scene. */
      type: "chapter_drafted";
      projectId: number;
      stage: StageId;
      chapter: number;
      title: string;
      words: number;
      scenes: { number: number; title: string; text: string }[];
    }
  | {
      /** Words of the scene in flight, while it streams in (at most twice a second). */
      type: "scene_writing";
      projectId: number;
      stage: StageId;
      label: string;
      progress: ProgressSnapshot;
    }
  | {
      /** A planning stage in parts moved on to its next part (`progress.step`). */
      type: "stage_step";
      projectId: number;
      stage: StageId;
      label: string;
      progress: ProgressSnapshot;
    }
  | {
      type: "scene_revised";
      projectId: number;
      stage: StageId;
      label: string;
      scene: number;
      outcome: "revised" | "rejected" | "unchanged" | "declined";
      /** Scenes this stage has handled so far, of those it handles. */
      done: number;
      total: number;
      progress: ProgressSnapshot;
    }
  | { type: "gate"; projectId: number; stage: StageId; progress: ProgressSnapshot }
  | { type: "unit_retry"; projectId: number; unit: string; attempt: number; error: string }
  | { type: "needs_attention"; projectId: number; unit: string; error: string }
  | {
      /**
       * The project's next model call waits behind other projects' (`progress.queued`), or, without it,
       * no longer does: sent when its place in the queue changes.
       */
      type: "queued";
      projectId: number;
      stage: StageId;
      label: string;
      progress: ProgressSnapshot;
    }
  | { type: "paused"; projectId: number; reason: string }
  | { type: "done"; projectId: number; progress: ProgressSnapshot };

export type ProgressSink = (event: ProgressEvent) => void;

/** Fans one event out to several sinks; a sink that throws never stops the pipeline. */
export function fanOut(sinks: ProgressSink[], onError: (error: unknown) => void): ProgressSink {
  return (event) => {
    for (const sink of sinks) {
      try {
        sink(event);
      } catch (error) {
        onError(error);
      }
    }
  };
}

import { and, eq, notInArray } from "drizzle-orm";
import type { Db } from "../../db/client";
import {
  type Project,
  type ProjectStatus,
  projects,
  type SceneVersion,
  sceneVersions,
} from "../../db/schema";
import { clearSceneDigest, getProject, hasDraftedScenes, sceneText, writeSceneText } from "./store";
import { type ProjectChanges, transition } from "./transition";
import { gateAt, gateOffering, idOf, nextStage, type StageId } from "./workflow";

export {
  abandonSetup,
  activeProjectCount,
  claimNewProject,
  createProject,
  finishSetup,
  type NewProject,
  NewProjectSchema,
  type Owner,
  parseNewProject,
} from "./new-project";

export type ActionResult = { ok: true; message: string; project: Project } | { ok: false; message: string };

const refuse = (message: string): ActionResult => ({ ok: false, message });

/** An author's action: one conditional move, or a refusal that says why it does not apply. */
interface Rule {
  from: ProjectStatus[];
  at?: StageId[];
  to: ProjectChanges;
  success: string;
  refusal: (p: Project) => string;
}

async function act(db: Db, id: number, { from, at, to, success, refusal }: Rule): Promise<ActionResult> {
  const result = await transition(db, id, { from, at, to });
  if (result.ok) return { ok: true, message: success, project: result.project };
  return result.project ? refuse(refusal(result.project)) : refuse(`There is no project ${id}.`);
}

const nothingWaits = (p: Project) =>
  p.status === "waiting"
    ? "That action does not apply to the gate this project waits at."
    : `Nothing waits for approval: the project is ${describeStatus(p)}.`;

/**
 * Turns the project's chapter messages on or off: with them, each chapter is shown as soon as its last
 * scene is drafted. Any time before the book is finished; from the next chapter on.
 */
export async function setChapters(db: Db, id: number, chapters: boolean): Promise<ActionResult> {
  const [project] = await db
    .update(projects)
    .set({ showChapters: chapters })
    .where(and(eq(projects.id, id), notInArray(projects.status, ["done", "cancelled"])))
    .returning();
  if (project)
    return {
      ok: true,
      message: chapters
        ? "chapter messages are on: each chapter is posted here as soon as its last scene is drafted."
        : "chapter messages are off: chapters are no longer posted as they are drafted.",
      project,
    };
  const current = await getProject(db, id);
  return refuse(
    current
      ? `The project is ${describeStatus(current)}: there are no chapters left to show.`
      : `There is no project ${id}.`,
  );
}

/** Passes the gate the project waits at; with `expected`, only that gate (a button belongs to one gate). */
export async function approve(db: Db, id: number, expected?: StageId): Promise<ActionResult> {
  const project = await getProject(db, id);
  if (!project) return refuse(`There is no project ${id}.`);
  const gate = gateAt(project.stage);
  if (project.status !== "waiting" || !gate) return refuse(nothingWaits(project));
  if (expected && project.stage !== expected)
    return refuse(`That gate has already been passed: the project is ${describeStatus(project)}.`);
  return act(db, id, {
    from: ["waiting"],
    at: [project.stage],
    to: { status: "running", stage: nextStage(project.stage), attention: null },
    success: `${capitalize(gate.subject)} approved: ${gate.approved}.`,
    refusal: nothingWaits,
  });
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The gate that offers `offer`, and where taking it sends the project. */
function offered(offer: "revises" | "redrafts"): { gate: StageId; to: StageId } {
  const gate = gateOffering(offer);
  const to = gate?.[offer];
  if (!gate || !to) throw new Error(`no gate offers ${offer}`);
  return { gate: idOf(gate), to: idOf(to) };
}

export async function reviseOutline(db: Db, id: number, notes: string): Promise<ActionResult> {
  const trimmed = notes.trim();
  if (trimmed.length === 0) return refuse("Say what to change in the outline: the notes are empty.");
  if (trimmed.length > 4000) return refuse("Revision notes can be at most 4000 characters.");
  const { gate, to } = offered("revises");
  return act(db, id, {
    from: ["waiting"],
    at: [gate],
    to: { status: "running", stage: to, revisionNotes: trimmed },
    success: "Revising the outline with your notes; earlier stages are kept.",
    refusal: (p) =>
      `The outline can only be revised while it waits for approval; the project is ${describeStatus(p)}.`,
  });
}

export async function requestRedraft(
  db: Db,
  id: number,
  scene: number,
  notes: string,
): Promise<ActionResult> {
  const project = await getProject(db, id);
  if (!project) return refuse(`There is no project ${id}.`);
  if (!Number.isInteger(scene) || scene < 1 || scene > project.sceneCount) {
    return refuse(`Choose a scene from 1 to ${project.sceneCount}.`);
  }
  if (!(await hasDraftedScenes(db, id))) return refuse("No scene has been drafted yet.");
  const { gate, to } = offered("redrafts");
  return act(db, id, {
    from: ["waiting"],
    at: [gate],
    to: { status: "running", stage: to, redraftScene: scene, revisionNotes: notes.trim() || null },
    success: `Redrafting scene ${scene}; the current version is kept.`,
    // Before revision, so every scene of the delivered book has been through the same stages.
    refusal: (p) =>
      `A scene can be redrafted at the draft gate, before revision; the project is ${describeStatus(p)}.`,
  });
}

/** The author's stop and go: each one move from one status, or a refusal saying what the project is. */
const STOP_AND_GO = {
  pause: {
    from: ["running"],
    to: { status: "paused" },
    success: "Paused: the unit in flight finishes, then the project waits for resume.",
    refusal: (p) => `Only a running project can be paused; this one is ${describeStatus(p)}.`,
  },
  resume: {
    from: ["paused"],
    to: { status: "running", attention: null },
    success: "Resumed.",
    refusal: (p) => `Only a paused project can be resumed; this one is ${describeStatus(p)}.`,
  },
  retry: {
    from: ["needs_attention"],
    to: { status: "running", attention: null },
    success: "Retrying the unit that failed.",
    refusal: (p) => `Nothing failed: the project is ${describeStatus(p)}.`,
  },
} satisfies Record<string, Rule>;

export const pause = (db: Db, id: number) => act(db, id, STOP_AND_GO.pause);
export const resume = (db: Db, id: number) => act(db, id, STOP_AND_GO.resume);
export const retry = (db: Db, id: number) => act(db, id, STOP_AND_GO.retry);

/** Cancels the project; with `atGate`, only while it waits there (a gate's Cancel button). */
export function cancel(db: Db, id: number, atGate?: StageId): Promise<ActionResult> {
  return act(db, id, {
    ...(atGate
      ? { from: ["waiting"], at: [atGate] }
      : { from: ["running", "waiting", "paused", "needs_attention"] }),
    to: { status: "cancelled" },
    success: "Cancelled. Everything written so far is kept and can still be exported.",
    refusal: (p) =>
      atGate
        ? `That gate has already been passed: the project is ${describeStatus(p)}.`
        : `The project is already ${describeStatus(p)}.`,
  });
}

export function describeStatus(p: Pick<Project, "status" | "stage">): string {
  switch (p.status) {
    case "waiting":
      return `waiting for ${gateAt(p.stage)?.subject ?? "your"} approval`;
    case "needs_attention":
      return "stopped and needs attention";
    case "running":
      return "running";
    default:
      return p.status;
  }
}

/** Every text a scene has had, oldest first, including revisions the guards rejected. */
export function sceneHistory(db: Db, projectId: number, scene: number): Promise<SceneVersion[]> {
  return db
    .select()
    .from(sceneVersions)
    .where(and(eq(sceneVersions.projectId, projectId), eq(sceneVersions.sceneNumber, scene)))
    .orderBy(sceneVersions.id);
}

/** Makes an earlier version the scene's text again, as a new version: the history only grows. */
export async function rollbackScene(
  db: Db,
  projectId: number,
  scene: number,
  versionId: number,
): Promise<ActionResult> {
  const project = await getProject(db, projectId);
  if (!project) return refuse(`There is no project ${projectId}.`);
  const busy = refuse(
    "Pause the project and let its unit in flight finish first: a running stage could overwrite the rollback.",
  );
  if (project.status === "running") return busy;
  const version = (await sceneHistory(db, projectId, scene)).find((v) => v.id === versionId);
  if (!version)
    return refuse(
      `Scene ${scene} has no version ${versionId}; list them with: folio versions ${projectId} ${scene}`,
    );
  if ((await sceneText(db, projectId, scene)) === version.text)
    return refuse(`Scene ${scene} already has the text of version ${versionId}.`);
  // Checked again in the write itself: a resume or a claim between the look and the write refuses it.
  const moved = await transition(db, projectId, {
    from: STOPPED,
    unleased: true,
    write: async (tx) => {
      await writeSceneText(tx, projectId, scene, "rollback", version.text, {
        note: `rolled back to version ${versionId}`,
      });
      // The digest and the ledger described the text replaced: the scene is digested again when next read.
      await clearSceneDigest(tx, projectId, scene);
    },
  });
  if (!moved.ok) return busy;
  return {
    ok: true,
    message: `Scene ${scene} now has the text of version ${versionId} (${version.stage}).`,
    project: moved.project,
  };
}

/** Every status in which no unit runs or will start by itself. */
const STOPPED: ProjectStatus[] = ["waiting", "paused", "needs_attention", "done", "cancelled"];

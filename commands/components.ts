import type { ButtonInteraction, ModalSubmitInteraction } from "discord.js";
import { z } from "zod";
import type { Project } from "../db/schema";
import { notesModal, redraftModal, reviseModal } from "../src/discord/modals";
import { type ComponentAction, gateButtons, parseCustomId } from "../src/discord/views";
import {
  type ActionResult,
  approve,
  cancel,
  describeStatus,
  requestRedraft,
  retry,
  reviseOutline,
} from "../src/pipeline/actions";
import { chapterNotesOf, notesClosed, notesOpen, setChapterNote } from "../src/pipeline/notes";
import { getProject } from "../src/pipeline/store";
import { gateOffering, idOf } from "../src/pipeline/workflow";
import type { GateStage } from "../stages/definition";
import {
  ephemeral,
  type HandlerDeps,
  type ProjectHandler,
  postExport,
  Refusal,
  settle,
  settleApproval,
  stopIfCancelled,
} from "./shared";

/** The gates Folio's buttons belong to, found in the workflow by what each offers. */
function gateThatOffers(offer: "revises" | "redrafts"): GateStage {
  const gate = gateOffering(offer);
  if (!gate) throw new Error(`the workflow has no gate that ${offer}`);
  return gate;
}
const GATE = { outline: gateThatOffers("revises"), draft: gateThatOffers("redrafts") };

/**
 * A button or a form (modal), and what it does. `mutates`: it changes the project, so only its owner or
 * a member with Manage Server may use it (checked by the router before `handle` runs). Every form mutates.
 */
export type ComponentHandler =
  | { kind: "button"; mutates: boolean; handle: ProjectHandler<ButtonInteraction> }
  | { kind: "modal"; mutates: true; handle: ProjectHandler<ModalSubmitInteraction> };

type Component = ButtonInteraction | ModalSubmitInteraction;

/**
 * One move from a button or form: at a gate, its buttons disabled in the same response (Retry's row
 * simply goes); the outcome said in public.
 */
const moveAndAnswer =
  <I extends Component>(
    gate: GateStage | null,
    action: (i: I, project: Project, deps: HandlerDeps) => Promise<ActionResult>,
    say: (result: ActionResult, deps: HandlerDeps) => string | Promise<string> = settle,
  ): ProjectHandler<I> =>
  async (i, project, deps) => {
    const message = await say(await action(i, project, deps), deps);
    // The gate's message again, with every button disabled once one of them was used.
    const components = gate ? gateButtons(gate, project.id, true) : [];
    const answered: Component = i;
    if (answered.isButton() || answered.isFromMessage()) {
      await answered.update({ components });
      await answered.followUp({ content: `${message} (by ${answered.user})` });
    } else {
      await answered.reply({ content: message });
    }
  };

/** The chapter a Notes… button or its form is about, from its custom id. */
function chapterOf(i: Component): number {
  const chapter = parseCustomId(i.customId)?.chapter;
  if (chapter === undefined) throw new Refusal("This button does not say which chapter it is about.");
  return chapter;
}

/** A button that opens a form is refused once its gate has been passed. */
async function expectWaiting(deps: HandlerDeps, project: Project, gate: GateStage): Promise<void> {
  const fresh = (await getProject(deps.db, project.id))!;
  if (fresh.status !== "waiting" || fresh.stage !== gate.id) {
    throw new Refusal(`That gate has already been passed: the project is ${describeStatus(fresh)}.`);
  }
}

/** Every button and form Folio posts, by the action in its custom id (`folio:<action>:<project>`). */
export const COMPONENTS = {
  approve: {
    kind: "button",
    mutates: true,
    handle: moveAndAnswer(
      GATE.outline,
      (_i, project, deps) => approve(deps.db, project.id, idOf(GATE.outline)),
      settleApproval,
    ),
  },
  revise: {
    kind: "button",
    mutates: true,
    handle: async (i, project, deps) => {
      await expectWaiting(deps, project, GATE.outline);
      await i.showModal(reviseModal(project.id));
    },
  },
  "revise-submit": {
    kind: "modal",
    mutates: true,
    handle: moveAndAnswer(GATE.outline, (i, project, deps) =>
      reviseOutline(deps.db, project.id, i.fields.getTextInputValue("notes")),
    ),
  },
  cancel: {
    kind: "button",
    mutates: true,
    handle: moveAndAnswer(GATE.outline, async (_i, project, deps) =>
      stopIfCancelled(await cancel(deps.db, project.id, idOf(GATE.outline)), project, deps),
    ),
  },
  "start-revision": {
    kind: "button",
    mutates: true,
    handle: moveAndAnswer(
      GATE.draft,
      (_i, project, deps) => approve(deps.db, project.id, idOf(GATE.draft)),
      settleApproval,
    ),
  },
  "export-draft": {
    kind: "button",
    mutates: false,
    handle: (i, project, deps) => postExport(i, project, "docx", deps),
  },
  redraft: {
    kind: "button",
    mutates: true,
    handle: async (i, project, deps) => {
      await expectWaiting(deps, project, GATE.draft);
      await i.showModal(redraftModal(project.id, project.sceneCount));
    },
  },
  "redraft-submit": {
    kind: "modal",
    mutates: true,
    handle: moveAndAnswer(GATE.draft, (i, project, deps) => {
      const scene = z.coerce.number().int().safeParse(i.fields.getTextInputValue("scene").trim());
      if (!scene.success)
        throw new Refusal(`The scene number must be a whole number from 1 to ${project.sceneCount}.`);
      return requestRedraft(deps.db, project.id, scene.data, i.fields.getTextInputValue("notes") ?? "");
    }),
  },
  retry: {
    kind: "button",
    mutates: true,
    handle: moveAndAnswer(null, (_i, project, deps) => retry(deps.db, project.id)),
  },
  notes: {
    kind: "button",
    mutates: true,
    handle: async (i, project, deps) => {
      const chapter = chapterOf(i);
      const fresh = (await getProject(deps.db, project.id))!;
      if (!notesOpen(fresh)) throw new Refusal(notesClosed(fresh));
      const current = (await chapterNotesOf(deps.db, project.id)).find((n) => n.chapter === chapter);
      await i.showModal(notesModal(project.id, chapter, current?.text));
    },
  },
  "notes-submit": {
    kind: "modal",
    mutates: true,
    handle: async (i, project, deps) => {
      const result = await setChapterNote(
        deps.db,
        project.id,
        chapterOf(i),
        i.fields.getTextInputValue("notes") ?? "",
        i.user.id,
      );
      if (!result.ok) throw new Refusal(result.message);
      await i.reply(ephemeral(result.message));
    },
  },
} satisfies Record<ComponentAction, ComponentHandler>;

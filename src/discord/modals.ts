/** The forms Folio opens: the outline's revision, a scene's redraft, a chapter's note. */
import { LabelBuilder, ModalBuilder, TextInputBuilder, TextInputStyle } from "discord.js";
import { customId } from "./views";

/** The author's notes for a revision or a redraft, up to Discord's 4000 characters. */
function notesField({ required }: { required: boolean }): LabelBuilder {
  const input = new TextInputBuilder()
    .setCustomId("notes")
    .setStyle(TextInputStyle.Paragraph)
    .setMaxLength(4000)
    .setRequired(required);
  return new LabelBuilder()
    .setLabel("What should change?")
    .setTextInputComponent(required ? input.setMinLength(1) : input);
}

export function reviseModal(projectId: number): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(customId("revise-submit", projectId))
    .setTitle("Revise the outline")
    .addLabelComponents(notesField({ required: true }));
}

export function redraftModal(projectId: number, sceneCount: number): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(customId("redraft-submit", projectId))
    .setTitle("Redraft a scene")
    .addLabelComponents(
      new LabelBuilder()
        .setLabel(`Scene number (1–${sceneCount})`)
        .setTextInputComponent(
          new TextInputBuilder()
            .setCustomId("scene")
            .setStyle(TextInputStyle.Short)
            .setMaxLength(3)
            .setRequired(true),
        ),
      notesField({ required: false }),
    );
}

/** The form for a chapter's note, holding the note it has now (emptied, the note is removed). */
export function notesModal(projectId: number, chapter: number, current?: string): ModalBuilder {
  const input = new TextInputBuilder()
    .setCustomId("notes")
    .setStyle(TextInputStyle.Paragraph)
    .setMaxLength(4000)
    .setRequired(false)
    .setPlaceholder("Mara would never apologise here. Too slow in the middle.");
  if (current) input.setValue(current.slice(0, 4000));
  return new ModalBuilder()
    .setCustomId(customId("notes-submit", projectId, chapter))
    .setTitle(`Notes on chapter ${chapter}`)
    .addLabelComponents(
      new LabelBuilder()
        .setLabel("What should revision change here?")
        .setDescription("Read first when self-refinement revises this chapter. Empty removes the note.")
        .setTextInputComponent(input),
    );
}

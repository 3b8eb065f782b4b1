/**
 * Surgical edits: the model names the words to change (`find`, copied from the scene) and what to put
 * in their place; code applies them. An edit is applied only where its `find` occurs exactly once in
 * the text and does not overlap another edit, so the rest of the scene stays byte for byte as it was.
 */
export interface Edit {
  find: string;
  replace: string;
  reason: string;
}

export type EditRejection = "empty" | "no_match" | "ambiguous" | "overlap" | "unchanged";

export interface EditResult {
  text: string;
  applied: Edit[];
  rejected: { edit: Edit; why: EditRejection }[];
}

export function applyEdits(text: string, edits: Edit[]): EditResult {
  const rejected: EditResult["rejected"] = [];
  const placed: { at: number; edit: Edit }[] = [];
  for (const edit of edits) {
    const why = rejection(text, edit, placed);
    if (why) rejected.push({ edit, why });
    else placed.push({ at: text.indexOf(edit.find), edit });
  }
  // From the end backwards, so each edit's offset still holds when it is applied.
  let result = text;
  for (const { at, edit } of [...placed].sort((a, b) => b.at - a.at)) {
    result = result.slice(0, at) + edit.replace + result.slice(at + edit.find.length);
  }
  return { text: result, applied: placed.sort((a, b) => a.at - b.at).map((p) => p.edit), rejected };
}

function rejection(text: string, edit: Edit, placed: { at: number; edit: Edit }[]): EditRejection | null {
  if (edit.find === "") return "empty";
  if (edit.find === edit.replace) return "unchanged";
  const at = text.indexOf(edit.find);
  if (at < 0) return "no_match";
  if (text.indexOf(edit.find, at + 1) >= 0) return "ambiguous";
  const end = at + edit.find.length;
  if (placed.some((p) => at < p.at + p.edit.find.length && p.at < end)) return "overlap";
  return null;
}

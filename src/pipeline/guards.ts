import type { RewriteDirection } from "../../stages/definition";
import { endsWithTerminalPunctuation, newMetaText } from "../text/meta";
import { countWords } from "../text/words";

/**
 * Where a rewrite may take a scene's length. A pass that deepens (self-refinement, the sensory pass)
 * must not come back shorter; any other stays at 95% of its input or more, so revisions do not shrink
 * the book scene by scene. Past 130% a rewrite is more likely damage than craft.
 */
export const MIN_REWRITE_RATIO: Readonly<Record<RewriteDirection, number>> = { deepen: 1, keep: 0.95 };
export const MAX_REWRITE_RATIO = 1.3;

export type GuardReason = "too_short" | "too_long" | "no_terminal_punctuation" | "meta_text";

export type GuardVerdict = { ok: true } | { ok: false; reason: GuardReason; detail: string };

/**
 * The guard on every rewrite (stages 7–12): a revision that fails it is rejected and the previous
 * text kept. Meta-text is judged against the input, so a novel that itself mentions a "scene" or a
 * "language model" is not punished for it.
 */
export function checkRewrite(
  before: string,
  after: string,
  direction: RewriteDirection = "keep",
): GuardVerdict {
  const ratio = countWords(after) / Math.max(1, countWords(before));
  if (ratio < MIN_REWRITE_RATIO[direction])
    return { ok: false, reason: "too_short", detail: `${Math.round(ratio * 100)}% of the input` };
  if (ratio > MAX_REWRITE_RATIO)
    return { ok: false, reason: "too_long", detail: `${Math.round(ratio * 100)}% of the input` };
  if (!endsWithTerminalPunctuation(after.trim())) {
    return { ok: false, reason: "no_terminal_punctuation", detail: "the text stops mid-sentence" };
  }
  const meta = newMetaText(before, after);
  if (meta.length > 0) return { ok: false, reason: "meta_text", detail: meta.join("; ") };
  return { ok: true };
}

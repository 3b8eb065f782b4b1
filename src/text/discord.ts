/**
 * Fitting text into Discord's limits (titles, embeds, thread names). Lengths are UTF-16 code units, which
 * is what Discord counts and what String#length returns.
 */

/**
 * Shortens text to at most `max` UTF-16 units, ellipsis included, preferring to cut at a space near the
 * end and never splitting a surrogate pair.
 */
export function truncate(text: string, max: number, ellipsis = "…"): string {
  if (text.length <= max) return text;
  if (max <= ellipsis.length) return ellipsis.slice(0, Math.max(0, max));
  const budget = max - ellipsis.length;
  const hard = hardCut(text, budget);
  const space = text.lastIndexOf(" ", hard);
  const cut = space >= budget * 0.8 ? space : hard;
  return text.slice(0, cut).trimEnd() + ellipsis;
}

/** The cut at `budget`, moved back one unit rather than split a surrogate pair. */
function hardCut(text: string, budget: number): number {
  const code = text.charCodeAt(budget - 1);
  const splitsPair = code >= 0xd800 && code <= 0xdbff;
  return splitsPair && budget > 1 ? budget - 1 : budget;
}

/** Where sentences end: their closing punctuation and any quote or bracket after it, before a space. */
const SENTENCE_END = /[.!?…]["'”’)\]]*(?=\s)/g;

/**
 * Shortens prose to at most `max` UTF-16 units at the end of a sentence, so a quoted opening reads
 * whole; `truncate`'s cut at a word when no sentence ends far enough in.
 */
export function cutAtSentence(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = 0;
  for (const match of `${text} `.matchAll(SENTENCE_END)) {
    const end = match.index + match[0].length;
    if (end > max) break;
    cut = end;
  }
  return cut >= max * 0.3 ? text.slice(0, cut) : truncate(text, max);
}

/**
 * Fitting text into Discord messages (SPEC §5: 2000 characters of content). Lengths are UTF-16 code
 * units, which is what Discord counts and what String#length returns.
 *
 * Hand-written because discord.js's old splitMessage helper was removed in v14 and no small maintained
 * package splits on prose boundaries while keeping code fences balanced.
 */

export const DISCORD_MESSAGE_LIMIT = 2000;

const FENCE_CLOSE = "\n```";
/** A boundary earlier than this fraction of the window makes chunks needlessly short; try a finer one. */
const MIN_FILL = 0.5;
const MIN_LIMIT = 16;

/**
 * Splits text into chunks of at most `limit` characters, cutting at the last paragraph break, else line
 * break, else sentence end, else space that fills at least half the chunk (a word boundary anywhere),
 * and inside a word only when one word is longer than the chunk. When a cut falls inside a ``` block,
 * the chunk closes the fence and the next one reopens it with the same language tag.
 */
export function splitForDiscord(text: string, limit = DISCORD_MESSAGE_LIMIT): string[] {
  if (limit < MIN_LIMIT) throw new RangeError(`splitForDiscord: limit must be at least ${MIN_LIMIT}`);
  const chunks: string[] = [];
  let rest = text.trim();
  let reopen = "";
  // Room to close a fence is reserved in every chunk when the text has any: cheaper than splitting twice
  // to find out whether a given chunk needs it.
  const fenceReserve = text.includes("```") ? FENCE_CLOSE.length : 0;
  while (rest) {
    if (reopen.length + rest.length <= limit) {
      chunks.push(reopen + rest);
      break;
    }
    const budget = limit - reopen.length - fenceReserve;
    const cut = cutPoint(rest, budget);
    let chunk = reopen + rest.slice(0, cut).trimEnd();
    const openFence = unclosedFence(chunk);
    if (openFence !== undefined) chunk += FENCE_CLOSE;
    chunks.push(chunk);
    reopen = openFence === undefined ? "" : reopenFence(openFence, limit);
    // Inside code, keep the next line's indentation; in prose, boundary whitespace carries no meaning.
    rest = openFence === undefined ? rest.slice(cut).trimStart() : rest.slice(cut).replace(/^\s*\n/, "");
  }
  return chunks;
}

/** Index in `text` to cut at, 0 < cut <= budget. */
function cutPoint(text: string, budget: number): number {
  // One character past the budget, so a boundary sitting exactly at the limit still counts.
  const window = text.slice(0, budget + 1);
  const minimum = Math.floor(budget * MIN_FILL);
  const candidates = [
    window.lastIndexOf("\n\n"),
    window.lastIndexOf("\n"),
    lastSentenceEnd(window),
    lastWhitespace(window),
  ];
  const good = candidates.find((index) => index > 0 && index >= minimum && index <= budget);
  if (good !== undefined) return good;
  const anyWordBoundary = lastWhitespace(window);
  if (anyWordBoundary > 0) return anyWordBoundary;
  return hardCut(text, budget);
}

/** Index just after the last sentence-ending punctuation (and its closing quotes) followed by whitespace. */
function lastSentenceEnd(window: string): number {
  let last = -1;
  for (const match of window.matchAll(/[.!?…]+[”"’')\]]*(?=\s)/g)) last = match.index + match[0].length;
  return last;
}

function lastWhitespace(window: string): number {
  for (let i = window.length - 1; i > 0; i--) {
    if (/\s/.test(window[i]!)) return i;
  }
  return -1;
}

/** Cut inside an over-long word, but never between the two halves of a surrogate pair. */
function hardCut(text: string, budget: number): number {
  const code = text.charCodeAt(budget - 1);
  const splitsPair = code >= 0xd800 && code <= 0xdbff;
  return splitsPair && budget > 1 ? budget - 1 : budget;
}

/** The info string ("ts", "") of a ``` fence left open at the end of `chunk`, or undefined. */
function unclosedFence(chunk: string): string | undefined {
  let open: string | undefined;
  for (const line of chunk.split("\n")) {
    const fence = /^\s*```(\S*)/.exec(line);
    if (!fence) continue;
    open = open === undefined ? fence[1]! : undefined;
  }
  return open;
}

/** The reopening line for the next chunk; an absurdly long info string is dropped rather than let it eat the chunk. */
function reopenFence(info: string, limit: number): string {
  const line = `\`\`\`${info}\n`;
  return line.length <= limit / 4 ? line : "```\n";
}

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

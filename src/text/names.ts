/**
 * Name-variant check (stage 8's name pass and stage 12's "names spelled as in the cast").
 *
 * Models drift on invented names over a long book: "Mara Quill" becomes "Marra" or "Quil". We compare
 * every distinct capitalised word in the text with the parts of each cast name using a small edit
 * distance. Distinct words are few (a few thousand in a novel), so the cost is dominated by one regex
 * scan of the text.
 */

export interface NameVariant {
  /** The correct spelling of the name part, e.g. "Quill". */
  canonical: string;
  /** The cast member it belongs to, e.g. "Mara Quill". */
  castName: string;
  /** The spelling found in the text, e.g. "Quil". */
  variant: string;
  count: number;
  /** Character offsets of each occurrence. */
  offsets: number[];
}

/** Capitalised words, allowing inner apostrophes and hyphens ("O'Neil", "Jean-Luc"). */
const CAPITALISED = /(?<![\p{L}\p{N}])\p{Lu}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*)*/gu;

/** Titles that precede names in a cast list; they are not the name itself. */
const HONORIFICS = new Set([
  "mr",
  "mrs",
  "ms",
  "miss",
  "dr",
  "prof",
  "professor",
  "sir",
  "lady",
  "lord",
  "captain",
  "capt",
  "aunt",
  "uncle",
  "father",
  "mother",
  "sister",
  "brother",
]);

/**
 * Common capitalised words (sentence openers, pronouns, months, days) that can sit one or two edits
 * from a short name: "Then" vs "Thea", "March" vs "Marah", "The" vs "Theo".
 */
const STOPLIST = new Set(
  (
    "the a an and but or nor so yet for if then than that this these those there their they them he she " +
    "his her hers him it its we our you your i me my mine who whom whose what when where why how which " +
    "while with without within from into onto upon over under after before again also all any each every " +
    "both few more most some such no not now only own same too very just still even ever never here " +
    "once soon later maybe perhaps yes oh ah well then thus hence until unless though although because " +
    "since as at by in of on to up down out off was were is are be been had has have did do does done " +
    "could would should might must may can will shall let lets god sir madam mister miss " +
    "january february march april may june july august september october november december " +
    "monday tuesday wednesday thursday friday saturday sunday north south east west english"
  ).split(" "),
);

const MIN_NAME_LENGTH = 3;

interface NamePart {
  part: string;
  lower: string;
  castName: string;
}

export function findNameVariants(text: string, cast: string[]): NameVariant[] {
  const parts = namePartsOf(cast);
  if (parts.length === 0) return [];
  const known = new Set(parts.map((p) => p.lower));
  const variants = new Map<string, NameVariant>();
  for (const [word, offsets] of capitalisedWords(text)) {
    const lower = word.toLowerCase();
    if (isIgnorable(lower, known)) continue;
    const match = closestPart(lower, parts);
    if (!match) continue;
    variants.set(word, {
      canonical: match.part,
      castName: match.castName,
      variant: word,
      count: offsets.length,
      offsets,
    });
  }
  return [...variants.values()].sort((a, b) => b.count - a.count || a.offsets[0]! - b.offsets[0]!);
}

function namePartsOf(cast: string[]): NamePart[] {
  return cast.flatMap((castName) =>
    castName
      .split(/\s+/)
      .map((part) => part.replace(/[.,]+$/, ""))
      .filter((part) => part.length >= MIN_NAME_LENGTH && /^\p{Lu}/u.test(part))
      .filter((part) => !HONORIFICS.has(part.toLowerCase()))
      .map((part) => ({ part, lower: part.toLowerCase(), castName })),
  );
}

/** Distinct capitalised words (possessive 's stripped) with the offsets where each occurs. */
function capitalisedWords(text: string): Map<string, number[]> {
  const words = new Map<string, number[]>();
  for (const match of text.matchAll(CAPITALISED)) {
    const word = match[0].replace(/['’]s$/, "");
    const offsets = words.get(word);
    if (offsets) offsets.push(match.index);
    else words.set(word, [match.index]);
  }
  return words;
}

function isIgnorable(lower: string, known: Set<string>): boolean {
  if (lower.length < MIN_NAME_LENGTH || STOPLIST.has(lower)) return true;
  // Exact names (any cast member, any case) and their plurals ("the Quills") are spelled right.
  return known.has(lower) || (lower.endsWith("s") && known.has(lower.slice(0, -1)));
}

/**
 * The nearest name part within the allowed distance. Typos almost never change the first letter, and
 * requiring it keeps distinct short names apart ("Sara" is not a misspelling of "Mara").
 */
function closestPart(lower: string, parts: NamePart[]): NamePart | undefined {
  let best: NamePart | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of parts) {
    if (candidate.lower[0] !== lower[0]) continue;
    const allowed = candidate.lower.length <= 5 ? 1 : 2;
    const distance = editDistance(lower, candidate.lower, allowed);
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transposition, the commonest typo),
 * giving up as soon as it must exceed `limit`: most comparisons end after the length check.
 */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, beforePrevious[j - 2]! + 1);
      }
      current[j] = value;
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > limit) return limit + 1;
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}

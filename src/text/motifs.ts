/**
 * Motif detection (stage 11's coverage check, and stage 12's "motif coverage as planned").
 *
 * A motif is named loosely ("the brass compass", "salt on the tongue") and the prose rarely repeats the
 * name verbatim: it says "the compass", "compasses", "Mara's compass". So we compare content words
 * after a deliberately small stemmer instead of searching for the phrase. Both sides go through the same
 * stemmer, so it only has to be consistent, not linguistically right.
 */
import { splitParagraphs, wordRegex } from "./words";

/** Function words that never identify a motif: articles, prepositions, pronouns, auxiliaries. */
const STOPWORDS = new Set(
  (
    "a an the and or but nor so yet of on in at to into onto upon from by with without within for about " +
    "over under through between among against across along around after before behind beneath beside " +
    "near off out up down as than then that this these those there here it its it's he she they them " +
    "his her hers their theirs him we us our you your i me my mine who whom whose which what when where " +
    "why how is are was were be been being am has have had do does did not no every each all any some " +
    "one's own"
  ).split(" "),
);

/** Hyphens and dashes inside a word token: "red-thread" should match "thread". */
const INNER_HYPHEN = /[-\u2010\u2011]/;
const POSSESSIVE = /['’]s?$/;
const VOWEL = /[aeiouy]/;

/**
 * A tiny suffix stripper: possessive, plural s/es/ies, -ed, -ing, then a trailing "e" and a doubled
 * final consonant, so "compasses"/"compass", "spinning"/"spins"/"spin" and "shoes"/"shoe" meet.
 * A suffix is only stripped when a syllable remains ("string" and "red" stay whole).
 */
export function stem(word: string): string {
  let w = word.toLowerCase().replace(POSSESSIVE, "");
  if (w.length > 4 && w.endsWith("ies")) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && w.endsWith("ied")) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith("s") && !/(?:ss|us|is)$/.test(w) && w.length > 3) w = w.slice(0, -1);
  else w = stripSuffix(stripSuffix(w, "ing"), "ed");
  if (w.length > 3 && w.endsWith("e")) w = w.slice(0, -1);
  if (w.length > 3 && w.at(-1) === w.at(-2) && !VOWEL.test(w.at(-1)!)) w = w.slice(0, -1);
  return w;
}

function stripSuffix(word: string, suffix: string): string {
  if (!word.endsWith(suffix)) return word;
  const rest = word.slice(0, -suffix.length);
  return rest.length >= 3 && VOWEL.test(rest) ? rest : word;
}

/** Every word of the text as a stem, hyphenated compounds split into their parts. */
function stems(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(wordRegex())) {
    for (const part of match[0].split(INNER_HYPHEN)) if (part) out.push(stem(part));
  }
  return out;
}

/** The motif's content-word stems in order, duplicates removed; the last one is the head noun. */
function contentStems(phrase: string): string[] {
  const kept: string[] = [];
  for (const match of phrase.matchAll(wordRegex())) {
    for (const part of match[0].split(INNER_HYPHEN)) {
      if (!part || STOPWORDS.has(part.toLowerCase().replace(/’/g, "'"))) continue;
      const s = stem(part);
      if (!kept.includes(s)) kept.push(s);
    }
  }
  return kept;
}

/**
 * Whether the motif appears in the prose: its head noun (last content word) anywhere, or at least half
 * of its content words together in one paragraph. The paragraph window matters: "salt" on page one and
 * "tongue" on page ten is not the image of salt on the tongue.
 */
export function motifPresent(text: string, motif: string): boolean {
  const wanted = contentStems(motif);
  const head = wanted.at(-1);
  if (head === undefined) return false;
  const needed = Math.ceil(wanted.length / 2);
  return splitParagraphs(text).some((paragraph) => {
    const words = new Set(stems(paragraph));
    return words.has(head) || wanted.filter((w) => words.has(w)).length >= needed;
  });
}

/**
 * The motif a free-text outline cue refers to ("The brass compass spins when Mara lies" → "the brass
 * compass"): the one sharing the most content words with the cue. Ties go to the motif whose head noun
 * is in the cue, then to the one more fully covered, then to list order. Undefined when none overlaps.
 */
export function motifForCue(cue: string, motifs: string[]): string | undefined {
  const cueWords = new Set(stems(cue));
  let best: { motif: string; score: number[] } | undefined;
  for (const motif of motifs) {
    const wanted = contentStems(motif);
    const overlap = wanted.filter((w) => cueWords.has(w)).length;
    if (overlap === 0) continue;
    const headInCue = cueWords.has(wanted.at(-1)!) ? 1 : 0;
    const score = [overlap, headInCue, overlap / wanted.length];
    if (!best || isBetter(score, best.score)) best = { motif, score };
  }
  return best?.motif;
}

/** Lexicographic comparison; equal scores keep the earlier motif. */
function isBetter(score: number[], than: number[]): boolean {
  for (let i = 0; i < score.length; i++) {
    if (score[i] !== than[i]) return score[i]! > than[i]!;
  }
  return false;
}

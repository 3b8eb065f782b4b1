/**
 * Deterministic synthetic manuscripts for export tests and benchmarks: the same options always give the
 * same book, so failures reproduce and benchmark runs compare like with like.
 */
import type { Manuscript, ManuscriptChapter, ManuscriptScene } from "../../src/export/manuscript.js";
import { mulberry32 } from "./random";

export interface ManuscriptOptions {
  chapters: number;
  /** Scenes in every chapter, or an inclusive [min, max] range picked per chapter. */
  scenesPerChapter: number | [number, number];
  wordsPerScene: number;
  /** Scene numbers (1-based, whole book) left unwritten; the manuscript is then partial. */
  partial?: number[];
}

const VOCABULARY = (
  "the lantern harbour salt wind over grey water she he they remembered a letter folded twice " +
  "under stone of quiet rooms where nobody spoke after winter came early that year and the boats " +
  "stayed in while the lighthouse keeper counted ships that never returned north across old roads " +
  "R&D <signal> café naïve"
).split(" ");

const random = mulberry32;

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

/** Exactly `words` words in paragraphs of varying length, some of them dialogue. */
function prose(next: () => number, words: number): string {
  const paragraphs: string[] = [];
  let left = words;
  while (left > 0) {
    // Every second and third paragraph is dialogue, in straight then curly quotes, with a speech tag.
    const kind = paragraphs.length % 3;
    const tagWords = kind > 0 && left > 2 ? 2 : 0;
    const size = Math.min(left - tagWords, 40 + Math.floor(next() * 40));
    const tokens = Array.from({ length: size }, () => pick(next, VOCABULARY));
    tokens[0] = tokens[0]!.charAt(0).toUpperCase() + tokens[0]!.slice(1);
    const words = tokens.join(" ");
    if (tagWords === 0) paragraphs.push(`${words}.`);
    else if (kind === 1) paragraphs.push(`"${words}," she said.`);
    else paragraphs.push(`\u201C${words},\u201D he said.`);
    left -= size + tagWords;
  }
  return paragraphs.join("\n\n");
}

/**
 * Messy whitespace and control characters as model output can carry them; exporters must clean them
 * without changing the word count.
 */
function roughen(text: string): string {
  const rough = text
    .replace(" ", "\u0007 ") // a control character XML forbids, inside the first word
    .replace(" ", "\t") // a tab between words
    .replace(" ", "   ") // a run of spaces
    .replace(" ", "\n") // a soft line wrap inside a paragraph
    .replace("\n\n", " \r\n\r\n\n"); // Windows line endings and an extra blank line
  return `  ${rough}\n\n \n`;
}

export function makeManuscript(options: ManuscriptOptions): Manuscript {
  const next = random(0xf011);
  const missing = new Set(options.partial ?? []);
  let sceneNumber = 0;
  const chapters: ManuscriptChapter[] = Array.from({ length: options.chapters }, (_, c) => {
    const range = options.scenesPerChapter;
    const count =
      typeof range === "number" ? range : range[0] + Math.floor(next() * (range[1] - range[0] + 1));
    const scenes: ManuscriptScene[] = Array.from({ length: count }, () => {
      sceneNumber += 1;
      const text = prose(next, options.wordsPerScene);
      return {
        number: sceneNumber,
        title: `Scene ${sceneNumber}`,
        text: missing.has(sceneNumber) ? null : sceneNumber === 1 ? roughen(text) : text,
      };
    });
    return {
      number: c + 1,
      title: `The ${pick(next, ["Harbour", "Letter", "Lantern", "Winter"])} ${c + 1}`,
      scenes,
    };
  });
  return {
    title: "The Keeper's Ledger & Other <Lights>",
    author: "Ada Quill",
    description: "A lighthouse keeper counts the ships that never come back.",
    genre: "Literary fiction",
    language: "en",
    year: 2025,
    chapters,
    partial: missing.size > 0,
  };
}

/** Words of the written prose, split on whitespace as pandoc splits text into words. */
export function manuscriptWords(m: Manuscript): number {
  return m.chapters
    .flatMap((c) => c.scenes)
    .reduce((sum, s) => sum + (s.text?.split(/\s+/).filter((w) => w.length > 0).length ?? 0), 0);
}

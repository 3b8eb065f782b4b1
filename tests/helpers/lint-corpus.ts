/**
 * The fiction corpus beside the repository (`../shared/lint-corpus/`, read in place, never copied):
 * published novels (`human--*.txt`) and model-written chapters (`llm--*.txt`), cut into chunks of
 * 1,000–1,500 words the way the lint meets scenes, and split into a tuning half and a held-out half.
 *
 * The split is by document: within each file the documents alternate between the two halves (first,
 * third, fifth… tune; second, fourth… held out), so both halves hold chunks of every file and no chunk of
 * the held-out half shares a paragraph with the tuning half. Many model chapters are shorter than 1,000
 * words, so a half's documents from one file are read as one stream, in order, and chunked across
 * document boundaries (the chunks of a model file are then still one model's prose).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isFlagged, lintProse } from "../../src/text/lint";
import { countWords, splitParagraphs } from "../../src/text/words";
import { ROOT } from "./cli";

export const LINT_CORPUS = join(ROOT, "..", "shared", "lint-corpus");

export const CHUNK_MIN_WORDS = 1_000;
export const CHUNK_MAX_WORDS = 1_500;

export type Half = "tuning" | "held-out";
export type Kind = "human" | "model";

export interface CorpusDocument {
  file: string;
  kind: Kind;
  label: string;
  paragraphs: string[];
}

export interface CorpusChunk {
  file: string;
  kind: Kind;
  half: Half;
  /** Labels of the documents the chunk draws on. */
  labels: string[];
  text: string;
  words: number;
}

export function corpusAvailable(): boolean {
  return existsSync(join(LINT_CORPUS, "texts"));
}

/** Every document of every `human--`/`llm--` file, in file order; `==== label ====` lines start documents. */
export function readCorpus(dir = LINT_CORPUS): CorpusDocument[] {
  const texts = join(dir, "texts");
  const files = readdirSync(texts)
    .filter((name) => /^(?:human|llm)--.*\.txt$/.test(name))
    .sort();
  const documents: CorpusDocument[] = [];
  for (const file of files) {
    const kind: Kind = file.startsWith("human--") ? "human" : "model";
    const parts = readFileSync(join(texts, file), "utf8").split(/^==== (.*) ====[ \t]*$/m);
    // split() with one capture group: [before, label1, body1, label2, body2, …]
    for (let i = 1; i + 1 < parts.length; i += 2) {
      documents.push({ file, kind, label: parts[i]!, paragraphs: splitParagraphs(parts[i + 1]!) });
    }
  }
  return documents;
}

/**
 * Consecutive chunks on paragraph boundaries: a chunk closes as soon as it reaches CHUNK_MIN_WORDS,
 * and closes early when the next paragraph would take a chunk already over half the minimum past
 * CHUNK_MAX_WORDS. A tail under the minimum joins the last chunk when that stays within the maximum, and
 * is otherwise dropped.
 */
export function chunkParagraphs(
  paragraphs: { text: string; label: string }[],
): { text: string; labels: string[]; words: number }[] {
  const chunks: { text: string; labels: string[]; words: number }[] = [];
  let current: { texts: string[]; labels: Set<string>; words: number } = {
    texts: [],
    labels: new Set(),
    words: 0,
  };
  const close = () => {
    chunks.push({ text: current.texts.join("\n\n"), labels: [...current.labels], words: current.words });
    current = { texts: [], labels: new Set(), words: 0 };
  };
  for (const paragraph of paragraphs) {
    const words = countWords(paragraph.text);
    if (current.words >= CHUNK_MIN_WORDS / 2 && current.words + words > CHUNK_MAX_WORDS) close();
    current.texts.push(paragraph.text);
    current.labels.add(paragraph.label);
    current.words += words;
    if (current.words >= CHUNK_MIN_WORDS) close();
  }
  const last = chunks.at(-1);
  if (current.words > 0 && last && last.words + current.words <= CHUNK_MAX_WORDS) {
    last.text += `\n\n${current.texts.join("\n\n")}`;
    last.labels = [...new Set([...last.labels, ...current.labels])];
    last.words += current.words;
  }
  return chunks.filter((chunk) => chunk.words >= CHUNK_MIN_WORDS);
}

/** All chunks of the corpus, both halves, in file order. */
export function corpusChunks(documents = readCorpus()): CorpusChunk[] {
  const byFile = new Map<string, CorpusDocument[]>();
  for (const document of documents) {
    const list = byFile.get(document.file);
    if (list) list.push(document);
    else byFile.set(document.file, [document]);
  }
  const chunks: CorpusChunk[] = [];
  for (const [file, fileDocuments] of byFile) {
    for (const half of ["tuning", "held-out"] as const) {
      const mine = fileDocuments.filter((_, index) => (index % 2 === 0) === (half === "tuning"));
      const paragraphs = mine.flatMap((d) => d.paragraphs.map((text) => ({ text, label: d.label })));
      for (const chunk of chunkParagraphs(paragraphs)) {
        chunks.push({ file, kind: fileDocuments[0]!.kind, half, ...chunk });
      }
    }
  }
  return chunks;
}

export interface FlagRates {
  half: Half;
  humanChunks: number;
  humanFlagged: number;
  modelChunks: number;
  modelFlagged: number;
  /** Share of human chunks the lint flags: density ≥ LINT_THRESHOLD. */
  humanRate: number;
  modelRate: number;
}

/** How many chunks of each kind in one half the lint flags (`isFlagged`: density ≥ LINT_THRESHOLD). */
export function flagRates(chunks: CorpusChunk[], half: Half): FlagRates {
  const mine = chunks.filter((chunk) => chunk.half === half);
  const count = (kind: Kind) => {
    const ofKind = mine.filter((chunk) => chunk.kind === kind);
    return [ofKind.length, ofKind.filter((chunk) => isFlagged(lintProse(chunk.text))).length] as const;
  };
  const [humanChunks, humanFlagged] = count("human");
  const [modelChunks, modelFlagged] = count("model");
  return {
    half,
    humanChunks,
    humanFlagged,
    modelChunks,
    modelFlagged,
    humanRate: humanFlagged / humanChunks,
    modelRate: modelFlagged / modelChunks,
  };
}

// The voice lint measured on real fiction (../shared/lint-corpus/): published novels and model-written
// chapters in 1,000–1,500-word chunks. The goal is asserted on the held-out half; the rules were tuned on
// the other half only, and both halves are printed so a drift between them (overfitting) shows.
import { describe, expect, it } from "vitest";
import {
  CHUNK_MAX_WORDS,
  CHUNK_MIN_WORDS,
  corpusAvailable,
  corpusChunks,
  flagRates,
  LINT_CORPUS,
  readCorpus,
} from "./helpers/lint-corpus";

const HUMAN_GOAL = 0.05;
const MODEL_GOAL = 0.5;

describe("voice lint on the fiction corpus", () => {
  it("finds the corpus beside the repository", () => {
    expect(corpusAvailable(), `no fiction corpus at ${LINT_CORPUS}`).toBe(true);
  });

  const documents = corpusAvailable() ? readCorpus() : [];
  const chunks = corpusAvailable() ? corpusChunks(documents) : [];

  it("cuts every file into chunks of 1,000–1,500 words, in both halves", () => {
    expect(chunks.length).toBeGreaterThan(200);
    for (const chunk of chunks) {
      expect(chunk.words).toBeGreaterThanOrEqual(CHUNK_MIN_WORDS);
      expect(chunk.words).toBeLessThanOrEqual(CHUNK_MAX_WORDS);
    }
    const files = new Set(documents.map((d) => d.file));
    for (const half of ["tuning", "held-out"] as const) {
      const present = new Set(chunks.filter((c) => c.half === half).map((c) => c.file));
      expect(present, half).toEqual(files);
    }
  });

  it("keeps the halves apart: no document lends paragraphs to both", () => {
    const halvesOf = new Map<string, Set<string>>();
    for (const chunk of chunks) {
      for (const label of chunk.labels) {
        const key = `${chunk.file}\u0000${label}`;
        halvesOf.set(key, (halvesOf.get(key) ?? new Set()).add(chunk.half));
      }
    }
    expect(halvesOf.size).toBeGreaterThan(documents.length * 0.9);
    for (const [key, halves] of halvesOf) expect(halves.size, key).toBe(1);
  });

  it(`flags ≤ ${HUMAN_GOAL * 100}% of human chunks and ≥ ${MODEL_GOAL * 100}% of model chunks (held-out half)`, () => {
    const tuning = flagRates(chunks, "tuning");
    const heldOut = flagRates(chunks, "held-out");
    for (const rates of [tuning, heldOut]) {
      console.log(
        `lint corpus, ${rates.half}: human ${rates.humanFlagged}/${rates.humanChunks} flagged ` +
          `(${(100 * rates.humanRate).toFixed(1)}%), model ${rates.modelFlagged}/${rates.modelChunks} ` +
          `(${(100 * rates.modelRate).toFixed(1)}%)`,
      );
    }
    expect(heldOut.humanChunks).toBeGreaterThan(50);
    expect(heldOut.modelChunks).toBeGreaterThan(50);
    expect(heldOut.humanRate).toBeLessThanOrEqual(HUMAN_GOAL);
    expect(heldOut.modelRate).toBeGreaterThanOrEqual(MODEL_GOAL);
  });
});

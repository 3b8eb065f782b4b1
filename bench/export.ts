/**
 * Export timings for a full-length novel: 120,000 words in 25 chapters of 2 scenes (50 scenes), about
 * 2,000 paragraphs, and the time stage 12 takes to validate it (every check, the book-level repetition
 * checks included). Median of 5 runs after a warm-up, so JIT compilation and one-off module loading don't
 * count. Run alone with `npx tsx bench/export.ts`.
 */
import { pathToFileURL } from "node:url";
import { renderDocx } from "../src/export/docx.js";
import { renderEpub } from "../src/export/epub.js";
import { renderMarkdown } from "../src/export/markdown.js";
import { validateManuscript } from "../src/text/manuscript-checks.js";
import { countWords } from "../src/text/words.js";
import { makeManuscript, manuscriptWords } from "../tests/helpers/manuscript.js";

const RUNS = 5;

/** The median time of `RUNS` runs after a warm-up, in ms to a tenth. */
export async function medianMs(render: () => unknown): Promise<number> {
  await render();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await render();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(RUNS / 2)]! * 10) / 10;
}

export async function benchExport(): Promise<{
  words: number;
  docxMs: number;
  epubMs: number;
  markdownMs: number;
  validateMs: number;
}> {
  const book = makeManuscript({ chapters: 25, scenesPerChapter: 2, wordsPerScene: 2_400 });
  // A fixed date keeps the EPUB renderer doing the same work every run.
  const modified = new Date("2025-01-01T00:00:00Z");
  const scenes = book.chapters.flatMap((chapter) =>
    chapter.scenes.map((scene) => ({
      number: scene.number,
      chapter: chapter.number,
      title: scene.title,
      text: scene.text,
      targetWords: scene.text ? countWords(scene.text) : 0,
      motifCues: [],
    })),
  );
  const validation = {
    scenes,
    bookTargetWords: scenes.reduce((sum, s) => sum + s.targetWords, 0),
    cast: ["Ada Quill"],
    motifs: [],
  };
  return {
    words: manuscriptWords(book),
    docxMs: await medianMs(() => renderDocx(book)),
    epubMs: await medianMs(() => renderEpub(book, { modified })),
    markdownMs: await medianMs(() => renderMarkdown(book)),
    validateMs: await medianMs(() => validateManuscript(validation)),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchExport());
}

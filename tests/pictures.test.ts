import JSZip from "jszip";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../db/client";
import { renderEpub } from "../src/export/epub";
import type { Manuscript } from "../src/export/manuscript";
import { type ArcInput, arcChart, arcSpec, beatScenes, CHART } from "../src/pictures/arc";
import { COVER, coverPng, coverSvg, fitTitle, paletteFor } from "../src/pictures/cover";
import { createProject, parseNewProject } from "../src/pipeline/actions";
import { renderExport } from "../src/pipeline/manuscript";
import { readPng } from "./helpers/png";

/** A 20-scene outline in 5 chapters, rising to a climax and falling off. */
const ARC: ArcInput = {
  title: "The Salt Lantern",
  scenes: Array.from({ length: 20 }, (_, i) => ({
    number: i + 1,
    chapter: Math.floor(i / 4) + 1,
    tension: [2, 3, 3, 4, 5, 4, 6, 6, 7, 5, 7, 8, 8, 7, 9, 9, 10, 8, 5, 3][i]!,
    targetWords: 1_000 + (i % 3) * 150,
    ...(i === 9 ? { beat: "Midpoint" } : {}),
  })),
  chapters: [1, 2, 3, 4, 5].map((n) => ({ number: n, title: `Chapter ${n}` })),
  beats: [
    { name: "Inciting incident", position: 12 },
    { name: "Midpoint", position: 30 },
    { name: "Climax", position: 85 },
  ],
};

const BOOK: Manuscript = {
  title: "The Salt Lantern",
  author: "Mara Quill",
  description: "A lighthouse keeper's daughter reads the sea's debts in salt.",
  genre: "Literary thriller",
  language: "en",
  year: 2026,
  chapters: [
    {
      number: 1,
      title: "Brine",
      scenes: [{ number: 1, title: "Low tide", text: "The sea kept its ledger.\n\nShe read it." }],
    },
  ],
  partial: false,
};

describe("pictures: the arc, the book's shape and the cover", () => {
  it("draws the arc at its stated size, not blank, with alt text, and the same bytes twice", async () => {
    const first = await arcChart(ARC);
    const again = await arcChart(ARC);
    expect(first.png.equals(again.png)).toBe(true);
    const png = readPng(first.png);
    expect(png).toMatchObject({ width: CHART.width, height: CHART.height });
    expect(png.variance).toBeGreaterThan(200);
    expect(first.description).toBe(
      'The arc of "The Salt Lantern": tension by scene over 20 scenes in 5 chapters, from 2 at scene 1 to a peak of 10 at scene 17 (lowest 2 at scene 1). Beats: Inciting incident (scene 3), Midpoint (scene 10), Climax (scene 17). Planned 22,850 words, as bars per chapter.',
    );
  });

  it("places a beat on the scene its card names, or where its position falls", () => {
    expect(beatScenes(ARC)).toEqual([
      { name: "Inciting incident", scene: 3 },
      { name: "Midpoint", scene: 10 },
      { name: "Climax", scene: 17 },
    ]);
  });

  it("draws the book's shape with written words beside planned ones and the flagged scenes marked", async () => {
    const written = { 1: 3_900, 2: 4_400, 3: 4_100, 4: 5_200, 5: 4_300 };
    const shape = { ...ARC, written, flagged: [7, 15] };
    const layers = JSON.stringify(arcSpec(shape));
    expect(layers).toContain('"field":"written"');
    expect(layers).toContain('"filter":"datum.flagged"');
    expect(JSON.stringify(arcSpec(ARC))).not.toContain('"field":"written"');
    const drawn = await arcChart(shape);
    expect(drawn.description).toContain("written 21,900.");
    expect(drawn.description).toContain("Flagged scenes: 7, 15.");
    // Flagged dots and written bars change the picture.
    expect(drawn.png.equals((await arcChart(ARC)).png)).toBe(false);
    expect(readPng(drawn.png)).toMatchObject({ width: CHART.width, height: CHART.height });
  });

  it("makes a 1,600 × 2,560 typographic cover, the same bytes twice, its palette from the genre", () => {
    const cover = coverPng({ title: BOOK.title, author: BOOK.author, genre: BOOK.genre });
    expect(cover.equals(coverPng({ title: BOOK.title, author: BOOK.author, genre: BOOK.genre }))).toBe(true);
    const png = readPng(cover);
    expect(png).toMatchObject({ width: COVER.width, height: COVER.height });
    expect(png.variance).toBeGreaterThan(100);
    expect(paletteFor("Literary thriller").name).toBe("noir");
    expect(paletteFor("epic fantasy").name).toBe("myth");
    expect(paletteFor(null).name).toBe("literary");
    // Text is escaped, and a long title is set smaller over more lines, never wider than the cover.
    const escaped = coverSvg({ title: "Salt & <Iron>", author: "A", genre: null });
    expect(escaped).toContain("Salt &amp;");
    expect(escaped).toContain("&lt;Iron&gt;");
    expect(escaped).not.toContain("<Iron>");
    const long = fitTitle("A Ferrywoman Keeps a Ledger of Every Crossing the River Has Refused Her");
    expect(long.lines.length).toBeGreaterThan(2);
    expect(long.lines.length).toBeLessThanOrEqual(4);
    expect(long.size).toBeLessThan(fitTitle("Brine").size);
  });

  it("puts the cover in the EPUB as its cover image, with a cover page first", async () => {
    const zip = await JSZip.loadAsync(await renderEpub(BOOK, { modified: new Date("2026-01-02T03:04:05Z") }));
    const opf = await zip.file("OEBPS/content.opf")!.async("string");
    expect(opf).toContain(
      '<item id="cover-image" href="cover.png" media-type="image/png" properties="cover-image"/>',
    );
    expect(opf).toMatch(/<spine toc="ncx">\n<itemref idref="cover"\/>/);
    const image = await zip.file("OEBPS/cover.png")!.async("nodebuffer");
    expect(readPng(image)).toMatchObject({ width: 1600, height: 2560 });
    expect(image.equals(coverPng({ title: BOOK.title, author: BOOK.author, genre: BOOK.genre }))).toBe(true);
    expect(await zip.file("OEBPS/cover.xhtml")!.async("string")).toContain(
      '<img class="cover" src="cover.png"',
    );
  });
});

describe("pictures: a book without an outline yet", () => {
  it("exports the book and its report without a shape, and says nothing went wrong", async () => {
    const db = openDatabase(":memory:");
    try {
      const request = parseNewProject({
        premise: "A glazier hears every window she has ever made.",
        scenes: 5,
      });
      if (!request.ok) throw new Error(request.message);
      const project = await createProject(db, request.value, { ownerId: "cli" });
      const files = await renderExport(db, project, "Mara Quill", "markdown");
      expect(files.shape).toBeUndefined();
      expect(files.shapeError).toBeUndefined();
      expect(files.report.data.toString()).not.toContain(".shape.png");
    } finally {
      await closeDatabase(db);
    }
  });
});

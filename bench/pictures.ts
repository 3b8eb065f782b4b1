/**
 * Picture timings for one 50-scene book: the outline's arc, the book's shape and the typographic cover,
 * each drawn afresh (median of 5 after a warm-up). Run alone with `npx tsx bench/pictures.ts`.
 */
import { pathToFileURL } from "node:url";
import { type ArcInput, arcChart } from "../src/pictures/arc.js";
import { coverPng } from "../src/pictures/cover.js";
import { medianMs } from "./export.js";

/** A 50-scene outline in 13 chapters with eight beats, as the outline stage lays one out. */
function outline(): ArcInput {
  const scenes = Array.from({ length: 50 }, (_, i) => ({
    number: i + 1,
    chapter: Math.floor(i / 4) + 1,
    tension: Math.max(1, Math.min(10, Math.round(2 + 7 * Math.sin((Math.PI * i) / 56) + (i % 3) - 1))),
    targetWords: 1_100 + (i % 4) * 100,
  }));
  const beats = [
    "Hook",
    "Inciting incident",
    "First turn",
    "Pinch",
    "Midpoint",
    "Crisis",
    "Climax",
    "Resolution",
  ];
  return {
    title: "The Salt Lantern",
    scenes,
    chapters: Array.from({ length: 13 }, (_, i) => ({ number: i + 1, title: `Chapter ${i + 1}` })),
    beats: beats.map((name, k) => ({ name, position: (k * 100) / (beats.length - 1) })),
  };
}

export async function benchPictures(): Promise<{ arcMs: number; shapeMs: number; coverMs: number }> {
  const arc = outline();
  const shape = {
    ...arc,
    written: Object.fromEntries(arc.chapters.map((c) => [c.number, 4_200 + c.number * 40])),
    flagged: [7, 19, 33],
  };
  return {
    arcMs: await medianMs(() => arcChart(arc)),
    shapeMs: await medianMs(() => arcChart(shape)),
    coverMs: await medianMs(() =>
      coverPng({ title: "The Salt Lantern", author: "Mara Quill", genre: "Literary thriller" }),
    ),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchPictures());
}

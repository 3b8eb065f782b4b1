import type { TopLevelSpec } from "vega-lite";
import type { Plan } from "../../stages/types";
import { thousands } from "../text/format";
import { chartPng, FONTS } from "./render";

/** What the story's arc is drawn from: the outline's cards, chapters and beats, and what was written. */
export interface ArcInput {
  title: string;
  scenes: { number: number; chapter: number; tension: number; targetWords: number; beat?: string }[];
  chapters: { number: number; title: string }[];
  beats: { name: string; position: number }[];
  /** Words written per chapter: drawn beside the planned words (the book's shape). */
  written?: Record<number, number>;
  /** Scenes the continuity audit or validation flagged: marked on the tension line. */
  flagged?: number[];
}

/** The arc the outline plans, for the outline gate; none before there is an outline. */
export function outlineArc(plan: Plan): ArcInput | undefined {
  const outline = plan.outline;
  if (!outline || outline.scenes.length === 0) return undefined;
  return {
    title: plan.concept?.title ?? "The outline",
    scenes: outline.scenes.map((s) => ({
      number: s.number,
      chapter: s.chapter,
      tension: s.tension,
      targetWords: s.targetWords,
      beat: s.beat,
    })),
    chapters: outline.chapters.map((c) => ({ number: c.number, title: c.title })),
    beats: plan.beats?.beats.map((b) => ({ name: b.name, position: b.position })) ?? [],
  };
}

/** Every chart's size: wide enough for a 50-scene arc, legible when Discord shows it at half size. */
export const CHART = { width: 1600, height: 900 } as const;

const INK = "#2b2a27";
const PAPER = "#faf8f3";
const PALETTE = {
  tension: "#c2410c",
  planned: "#8fa3b8",
  written: "#35506b",
  flag: "#b91c1c",
  band: "#e4ddcf",
};

/** Where each beat falls: the first scene its card names it on, or its place in the book. */
export function beatScenes(input: ArcInput): { name: string; scene: number }[] {
  const count = input.scenes.length;
  return input.beats.map((beat) => {
    const named = input.scenes.find((s) => s.beat?.trim().toLowerCase() === beat.name.trim().toLowerCase());
    const placed = Math.min(count, Math.max(1, Math.round((beat.position / 100) * (count - 1)) + 1));
    return { name: beat.name, scene: named?.number ?? placed };
  });
}

function chapterRows(input: ArcInput) {
  return input.chapters.flatMap((c, k) => {
    const own = input.scenes.filter((s) => s.chapter === c.number);
    if (own.length === 0) return [];
    const x0 = own[0]!.number - 0.5;
    const x1 = own.at(-1)!.number + 0.5;
    const half = input.written ? (x1 - x0) / 2 : x1 - x0;
    return [
      {
        chapter: c.number,
        title: c.title,
        x0,
        x1,
        odd: k % 2 === 1,
        planned: own.reduce((n, s) => n + s.targetWords, 0),
        written: input.written?.[c.number] ?? 0,
        // Planned words on the left of the chapter's band (its whole width at the outline), written on the right.
        p0: x0 + 0.08,
        p1: x0 + half - 0.04,
        w0: x0 + half + 0.04,
        w1: x1 - 0.08,
      },
    ];
  });
}

/** The arc as a Vega-Lite spec: chapters as bands, words per chapter as bars, tension as a line, beats. */
export function arcSpec(input: ArcInput): TopLevelSpec {
  const count = input.scenes.length;
  const x = { scale: { domain: [0.5, count + 0.5], nice: false, zero: false } };
  const chapters = chapterRows(input);
  const flagged = new Set(input.flagged ?? []);
  const words = (field: "planned" | "written", x0: string, x1: string, color: string) => ({
    data: { values: chapters },
    mark: { type: "rect" as const, color, opacity: field === "planned" && input.written ? 0.55 : 0.7 },
    encoding: {
      x: { field: x0, type: "quantitative" as const, ...x },
      x2: { field: x1 },
      y: {
        field: field,
        type: "quantitative" as const,
        scale: { domain: [0, Math.max(1, ...chapters.map((c) => Math.max(c.planned, c.written))) * 1.6] },
        axis: {
          title: "Words per chapter",
          orient: "right" as const,
          format: "~s",
          grid: false,
          tickCount: 5,
        },
      },
      y2: { datum: 0 },
      tooltip: { field: "title" },
    },
  });
  const subtitle = input.written
    ? [
        "Line: tension by scene (left, 1–10) · red dots: scenes the audit or validation flagged · dashed: beats",
        "Bars: words per chapter (right), planned (light) and written (dark) · bands: chapters",
      ]
    : "Line: tension by scene (left, 1–10) · bars: planned words per chapter (right) · bands: chapters · dashed: beats";
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: CHART.width,
    height: CHART.height,
    autosize: { type: "fit", contains: "padding" },
    padding: { left: 24, right: 24, top: 20, bottom: 20 },
    background: PAPER,
    title: {
      text: input.written ? `${input.title}: the book's shape` : `${input.title}: the arc`,
      subtitle,
      font: FONTS.serif,
      fontSize: 44,
      fontWeight: 500,
      subtitleFont: FONTS.sans,
      subtitleFontSize: 20,
      subtitleColor: "#5b574f",
      color: INK,
      anchor: "start",
      offset: 18,
    },
    config: {
      font: FONTS.sans,
      view: { stroke: null },
      axis: {
        labelFontSize: 24,
        titleFontSize: 26,
        titleFontWeight: 600,
        labelColor: INK,
        titleColor: INK,
        domainColor: "#9c968a",
        tickColor: "#9c968a",
        gridColor: "#e9e4da",
      },
    },
    layer: [
      {
        data: { values: chapters },
        mark: { type: "rect", color: PALETTE.band },
        encoding: {
          x: {
            field: "x0",
            type: "quantitative",
            ...x,
            axis: { title: "Scene", tickMinStep: 1, format: "d", grid: false },
          },
          x2: { field: "x1" },
          opacity: { condition: { test: "datum.odd", value: 0.75 }, value: 0.3 },
        },
      },
      words("planned", "p0", input.written ? "p1" : "w1", PALETTE.planned),
      ...(input.written ? [words("written", "w0", "w1", PALETTE.written)] : []),
      {
        data: { values: beatScenes(input) },
        mark: { type: "rule", color: "#6b6459", strokeDash: [8, 6], strokeWidth: 2 },
        encoding: { x: { field: "scene", type: "quantitative", ...x } },
      },
      {
        data: { values: beatScenes(input) },
        mark: {
          type: "text",
          angle: 270,
          align: "right",
          baseline: "bottom",
          dx: -12,
          dy: -6,
          fontSize: 21,
          color: "#4a453d",
          font: FONTS.sans,
        },
        encoding: {
          x: { field: "scene", type: "quantitative", ...x },
          y: { value: 0 },
          text: { field: "name" },
        },
      },
      {
        data: { values: input.scenes.map((s) => ({ ...s, flagged: flagged.has(s.number) })) },
        layer: [
          {
            mark: { type: "line", color: PALETTE.tension, strokeWidth: 5, interpolate: "monotone" },
            encoding: {
              x: { field: "number", type: "quantitative", ...x },
              y: {
                field: "tension",
                type: "quantitative",
                scale: { domain: [0, 10] },
                axis: { title: "Tension", tickCount: 5, grid: true },
              },
            },
          },
          {
            transform: [{ filter: input.written ? "datum.flagged" : "false" }],
            mark: { type: "point", filled: true, size: 420, color: PALETTE.flag, opacity: 1 },
            encoding: {
              x: { field: "number", type: "quantitative", ...x },
              y: { field: "tension", type: "quantitative", scale: { domain: [0, 10] } },
            },
          },
        ],
      },
    ],
    resolve: { scale: { y: "independent" } },
  } as TopLevelSpec;
}

/** The chart's alt text: what a reader who cannot see it should know, within Discord's 1,024 characters. */
export function arcDescription(input: ArcInput): string {
  const peak = input.scenes.reduce((a, b) => (b.tension > a.tension ? b : a), input.scenes[0]!);
  const low = input.scenes.reduce((a, b) => (b.tension < a.tension ? b : a), input.scenes[0]!);
  const planned = input.scenes.reduce((n, s) => n + s.targetWords, 0);
  const parts = [
    input.written ? `The shape of "${input.title}"` : `The arc of "${input.title}"`,
    `: tension by scene over ${input.scenes.length} scenes in ${input.chapters.length} chapters, from ${input.scenes[0]?.tension ?? 0} at scene 1 to a peak of ${peak.tension} at scene ${peak.number} (lowest ${low.tension} at scene ${low.number}).`,
    ` Beats: ${beatScenes(input)
      .map((b) => `${b.name} (scene ${b.scene})`)
      .join(", ")}.`,
    ` Planned ${thousands(planned)} words`,
    input.written
      ? `, written ${thousands(Object.values(input.written).reduce((a, b) => a + b, 0))}.`
      : ", as bars per chapter.",
    input.flagged && input.written
      ? ` Flagged scenes: ${input.flagged.length === 0 ? "none" : input.flagged.join(", ")}.`
      : "",
  ];
  const text = parts.join("");
  return text.length <= 1024 ? text : `${text.slice(0, 1023)}…`;
}

/** The arc (or the book's shape) as a PNG, with its alt text. */
export async function arcChart(input: ArcInput): Promise<{ png: Buffer; description: string }> {
  return { png: await chartPng(arcSpec(input)), description: arcDescription(input) };
}

import { z } from "zod";
import { beatsMarkdown } from "./beats";
import { castMarkdown } from "./characters";
import { conceptMarkdown } from "./concept";
import { defineStage } from "./definition";
import { askPlanner, MAX_SCENES, need, premiseBlock, type StageContext } from "./types";
import { worldMarkdown } from "./world";

/** Stage 4B — Master Outline: every scene of the book, grouped into chapters, with its word budget. */
const RawSceneSchema = z.object({
  chapter: z.number().int().min(1).max(MAX_SCENES),
  chapterTitle: z.string(),
  title: z.string(),
  pov: z.string(),
  place: z.string(),
  characters: z.array(z.string()).min(1).max(8),
  beat: z.string(),
  goal: z.string(),
  conflict: z.string(),
  outcome: z.string(),
  summary: z.string(),
  motifCues: z.array(z.string()).max(3),
  tension: z.number().int().min(1).max(10),
  // The wish is rebalanced to the book's target (see distributeWords); the bound only keeps it a number.
  targetWords: z.number().int().min(0).max(200_000),
});
type RawScene = z.infer<typeof RawSceneSchema>;

export const rawOutlineSchema = (sceneCount: number) =>
  z.object({ scenes: z.array(RawSceneSchema).length(sceneCount) });

export type SceneCard = Omit<RawScene, "chapterTitle"> & { number: number };
export interface Outline {
  chapters: { number: number; title: string }[];
  scenes: SceneCard[];
}

/** Scenes per chapter when the model's grouping is unusable. */
const REGROUP_SCENES_PER_CHAPTER = 3;
/** A chapter with more scenes than this is a sign the grouping was not thought through. */
const MAX_SCENES_PER_CHAPTER = 8;

export async function runOutline(ctx: StageContext): Promise<Outline> {
  const { project } = ctx;
  const schema = rawOutlineSchema(project.sceneCount);
  const purpose = project.revisionNotes ? "outline-revision" : "outline";
  const value = await askPlanner(
    ctx,
    // A scene card is some 150–250 tokens of JSON.
    { stage: "outline", name: "master_outline", purpose, outputTokens: project.sceneCount * 250 },
    schema,
    outlineRequest(ctx),
  );
  return normalizeOutline(value.scenes, project.targetWords);
}

function outlineRequest(ctx: StageContext): string {
  const { project, plan } = ctx;
  const average = Math.round(project.targetWords / project.sceneCount);
  const parts = [
    `Write the master outline of this novel: exactly ${project.sceneCount} scenes in reading order, grouped into chapters.`,
    premiseBlock(project),
    conceptMarkdown(need(plan, "concept")),
    worldMarkdown(need(plan, "world")),
    beatsMarkdown(need(plan, "beats")),
    castMarkdown(need(plan, "characters")),
    [
      "For each scene give: chapter number (1-based, non-decreasing, usually 2–4 scenes per chapter) and chapter title,",
      "scene title, point-of-view character, place (a named place from the world), characters present (names exactly as",
      "in the cast), the beat it serves, the POV character's goal, the conflict, the outcome, a 2–4 sentence summary,",
      "up to 3 motif cues (which motif appears and how), tension 1–10 following the beat sheet, and target words",
      `(about ${average} on average; more for climactic scenes, fewer for transitions; all scenes together about`,
      `${project.targetWords} words).`,
    ].join(" "),
  ];
  if (project.revisionNotes && plan.outline) {
    parts.push(
      `The author reviewed the previous outline:\n\n${outlineMarkdown(plan.outline)}`,
      `Revise it following the author's notes:\n${project.revisionNotes}`,
    );
  }
  return parts.join("\n\n");
}

/**
 * The model's outline is a draft: numbering, chapter grouping and word budgets are made right here
 * rather than trusted, so the book always has the requested length and a sane chapter structure.
 */
export function normalizeOutline(raw: RawScene[], targetWords: number): Outline {
  const chapterOf = groupIntoChapters(raw.map((s) => s.chapter));
  const budgets = distributeWords(
    raw.map((s) => s.targetWords),
    targetWords,
  );
  const scenes: SceneCard[] = raw.map(({ chapterTitle: _title, ...scene }, i) => ({
    ...scene,
    number: i + 1,
    chapter: chapterOf[i]!,
    targetWords: budgets[i]!,
  }));
  const chapterCount = Math.max(...chapterOf);
  const chapters = Array.from({ length: chapterCount }, (_, k) => ({
    number: k + 1,
    title:
      raw.find((_, i) => chapterOf[i] === k + 1 && raw[i]!.chapterTitle.trim())?.chapterTitle.trim() ??
      `Chapter ${k + 1}`,
  }));
  return { chapters, scenes };
}

/** Chapter numbers made non-decreasing and consecutive from 1; regrouped evenly when implausible. */
export function groupIntoChapters(proposed: number[]): number[] {
  const grouped: number[] = [];
  let current = 0;
  let previous: number | undefined;
  for (const chapter of proposed) {
    if (previous === undefined || chapter > previous) current += 1;
    previous = previous === undefined ? chapter : Math.max(previous, chapter);
    grouped.push(current);
  }
  const sizes = new Map<number, number>();
  for (const c of grouped) sizes.set(c, (sizes.get(c) ?? 0) + 1);
  const tooFew = grouped.length >= 6 && sizes.size < Math.ceil(grouped.length / MAX_SCENES_PER_CHAPTER);
  const tooBig = [...sizes.values()].some((n) => n > MAX_SCENES_PER_CHAPTER);
  if (!tooFew && !tooBig) return grouped;
  return proposed.map((_, i) => Math.floor(i / REGROUP_SCENES_PER_CHAPTER) + 1);
}

/**
 * Splits `total` words across scenes in proportion to the model's wishes, each wish clamped to
 * half–double the average so one runaway number cannot starve the rest. The sum is exactly `total`.
 */
export function distributeWords(wishes: number[], total: number): number[] {
  const average = total / wishes.length;
  const weights = wishes.map((w) =>
    Number.isFinite(w) && w > 0 ? Math.min(2 * average, Math.max(0.5 * average, w)) : average,
  );
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w / sum) * total);
  const floored = exact.map(Math.floor);
  let remainder = total - floored.reduce((a, b) => a + b, 0);
  const byFraction = exact
    .map((x, i) => ({ i, fraction: x - Math.floor(x) }))
    .sort((a, b) => b.fraction - a.fraction);
  for (const { i } of byFraction) {
    if (remainder <= 0) break;
    floored[i]! += 1;
    remainder -= 1;
  }
  return floored;
}

/**
 * The outline as Markdown, every scene's card under its chapter. Chapters `inFull` rejects take one
 * line each, their scenes named by title, when a prompt must fit a small context window.
 */
export function outlineMarkdown(outline: Outline, inFull: (chapter: number) => boolean = () => true): string {
  const lines = ["# Master outline"];
  for (const chapter of outline.chapters) {
    const members = outline.scenes.filter((x) => x.chapter === chapter.number);
    if (!inFull(chapter.number)) {
      lines.push(`## Chapter ${chapter.number}: ${chapter.title} — ${sceneRange(members)}`);
      continue;
    }
    lines.push(`## Chapter ${chapter.number}: ${chapter.title}`);
    for (const s of members) lines.push(sceneCardMarkdown(s));
  }
  return lines.join("\n\n");
}

function sceneRange(members: SceneCard[]): string {
  const first = members[0]?.number;
  const last = members.at(-1)?.number;
  if (first === undefined) return "no scenes";
  const numbers = first === last ? `scene ${first}` : `scenes ${first}–${last}`;
  return `${numbers}: ${members.map((s) => s.title).join("; ")}`;
}

export function sceneCardMarkdown(s: SceneCard): string {
  return [
    `### Scene ${s.number}: ${s.title}`,
    `POV ${s.pov} · ${s.place} · with ${s.characters.join(", ")} · beat: ${s.beat} · tension ${s.tension} · ${s.targetWords} words`,
    `Goal: ${s.goal} Conflict: ${s.conflict} Outcome: ${s.outcome}`,
    s.summary,
    s.motifCues.length > 0 ? `Motif cues: ${s.motifCues.join("; ")}` : "",
  ]
    .filter(Boolean)
    .join("\n");
}

export const masterOutline = defineStage({
  id: "outline",
  label: "Master Outline",
  kind: "plan",
  needs: ["concept", "world", "beats", "characters"],
  produces: "outline",
  run: runOutline,
  present: (o: Outline) => ({
    summary: `${o.scenes.length} scenes in ${o.chapters.length} chapters, ${o.scenes.reduce((a, s) => a + s.targetWords, 0).toLocaleString("en-US")} words planned.`,
    artifacts: [{ name: "outline.md", markdown: outlineMarkdown(o) }],
  }),
  // The outline lays out the book's scene rows and uses up the author's revision notes.
  effects: (o: Outline) => ({ outline: o, notesUsed: true }),
});

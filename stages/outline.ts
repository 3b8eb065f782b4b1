// Over 300 lines: the outline's two kinds of call (the chapters, then the scene cards part by part),
// their prompts, and the normalisation that makes the assembled parts one sound outline.
import { z } from "zod";
import { thousands } from "../src/text/format";
import { beatsMarkdown } from "./beats";
import { castMarkdown } from "./characters";
import { conceptMarkdown } from "./concept";
import { defineStage, type PlanParts } from "./definition";
import { askPlanner, need, perCount, premiseBlock, type StageContext } from "./types";
import { worldMarkdown } from "./world";

/**
 * Stage 4B — Master Outline: every scene of the book, grouped into chapters, with its word budget.
 *
 * One answer holding 50–120 scene cards would need 13k–32k output tokens, more than many models can
 * write, so the outline is planned in parts: the chapters first, then the scene cards a few chapters at
 * a time, each part stored as it arrives (a crash asks again only for the part in flight). The parts
 * are then put together and made right as one outline (`normalizeOutline`).
 */

/** Scenes per chapter when the model's grouping is unusable. */
const REGROUP_SCENES_PER_CHAPTER = 3;
/** A chapter with more scenes than this is a sign the grouping was not thought through. */
const MAX_SCENES_PER_CHAPTER = 8;
/** A scene card is some 150–250 tokens of JSON, a planned chapter well under 80. */
const CARD_TOKENS = 250;
const CHAPTER_TOKENS = 80;
/**
 * Cards asked for in one call: 10 cards are about 2,500 output tokens, within the 4,096 a small local
 * model writes at most. A chapter is never split, so a part holds whole chapters of up to 8 scenes each.
 */
const CARDS_PER_PART = 10;

const PlannedChapterSchema = z.object({
  title: z.string(),
  summary: z.string(),
  beats: z.string(),
  scenes: z.number().int().min(1).max(MAX_SCENES_PER_CHAPTER),
});

export const chapterPlanSchema = perCount((sceneCount: number) =>
  z.object({
    chapters: z
      .array(PlannedChapterSchema)
      .min(Math.ceil(sceneCount / MAX_SCENES_PER_CHAPTER))
      .max(sceneCount),
  }),
);

/** A chapter of the plan, its scene count made to fit the book (see `fitChapterSizes`). */
export type PlannedChapter = z.infer<typeof PlannedChapterSchema> & { number: number };

const CardSchema = z.object({
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
  setups: z
    .array(z.string())
    .max(3)
    .describe("foreshadowing this scene plants for a payoff later in the book; none is fine"),
  tension: z.number().int().min(1).max(10),
  // The wish is rebalanced to the book's target (see distributeWords); the bound only keeps it a number.
  targetWords: z.number().int().min(0).max(200_000),
});
type Card = z.infer<typeof CardSchema>;

export const sceneCardsSchema = perCount((count: number) =>
  z.object({ scenes: z.array(CardSchema).length(count) }),
);

/** A card placed in its planned chapter, before numbering, grouping and budgets are made right. */
type RawScene = Card & { chapter: number; chapterTitle: string };

export type SceneCard = Card & { chapter: number; number: number };
export interface Outline {
  chapters: { number: number; title: string }[];
  scenes: SceneCard[];
}

export async function runOutline(ctx: StageContext, parts: PlanParts): Promise<Outline> {
  const { sceneCount } = ctx.project;
  const chapters = await stored(parts, "chapters", () => planChapters(ctx));
  const cardParts = partsOf(chapters);
  const raw: RawScene[] = [];
  for (const [i, part] of cardParts.entries()) {
    const cards = await stored(parts, `scenes-${part.first}-${part.last}`, () => {
      // An outline of one part takes no longer than any other planning call; a longer one shows its parts.
      if (cardParts.length > 1) {
        parts.step(`Scene cards ${part.first}–${part.last} of ${sceneCount}`, i, cardParts.length);
      }
      return writeCards(ctx, chapters, part, raw);
    });
    raw.push(...placeCards(part, cards));
  }
  return normalizeOutline(raw, ctx.project.targetWords);
}

/** A part stored earlier in this run of the stage, or asked for now and stored the moment it arrives. */
async function stored<T>(parts: PlanParts, name: string, ask: () => Promise<T>): Promise<T> {
  const earlier = await parts.recall<T>(name);
  if (earlier !== undefined) return earlier;
  const answer = await ask();
  await parts.remember(name, answer);
  return answer;
}

async function planChapters(ctx: StageContext): Promise<PlannedChapter[]> {
  const { sceneCount } = ctx.project;
  const { chapters } = await askPlanner(
    ctx,
    {
      stage: "outline",
      name: "outline_chapters",
      purpose: purposeOf(ctx),
      outputTokens: chaptersWanted(sceneCount) * CHAPTER_TOKENS,
    },
    chapterPlanSchema(sceneCount),
    inEveryView(ctx, (view) => [...outlineBrief(ctx, view), chaptersRequest(sceneCount)]),
  );
  const sizes = fitChapterSizes(
    chapters.map((c) => c.scenes),
    sceneCount,
  );
  return chapters.map((c, i) => ({ ...c, number: i + 1, scenes: sizes[i]! }));
}

/** Consecutive chapters holding scenes `first`…`last` (1-based), asked for in one call. */
interface Part {
  chapters: PlannedChapter[];
  first: number;
  last: number;
}

/** Whole chapters gathered into parts of at most `CARDS_PER_PART` cards (a bigger chapter alone). */
export function partsOf(chapters: PlannedChapter[]): Part[] {
  const parts: Part[] = [];
  let next = 1;
  for (const chapter of chapters) {
    const current = parts.at(-1);
    const first = next;
    next += chapter.scenes;
    if (current && next - current.first <= CARDS_PER_PART) {
      current.chapters.push(chapter);
      current.last = next - 1;
    } else parts.push({ chapters: [chapter], first, last: next - 1 });
  }
  return parts;
}

async function writeCards(
  ctx: StageContext,
  chapters: PlannedChapter[],
  part: Part,
  earlier: RawScene[],
): Promise<Card[]> {
  const count = part.last - part.first + 1;
  const { scenes } = await askPlanner(
    ctx,
    { stage: "outline", name: "outline_scenes", purpose: purposeOf(ctx), outputTokens: count * CARD_TOKENS },
    sceneCardsSchema(count),
    inEveryView(ctx, (view) => [
      ...outlineBrief(ctx, view),
      chapterPlanMarkdown(chapters),
      ...cardsSoFar(earlier),
      cardsRequest(ctx, part),
    ]),
  );
  return scenes;
}

/** The cards of a part in order, each in the planned chapter its place falls in. */
function placeCards(part: Part, cards: Card[]): RawScene[] {
  const slots = part.chapters.flatMap((c) => Array.from({ length: c.scenes }, () => c));
  return cards.map((card, i) => ({ ...card, chapter: slots[i]!.number, chapterTitle: slots[i]!.title }));
}

/**
 * The model's chapter sizes made to add up to the book's scenes: each at least one, the smallest chapter
 * grown while scenes are missing, the largest shrunk while there are too many (earliest first on ties).
 */
export function fitChapterSizes(wishes: number[], total: number): number[] {
  const sizes = wishes.map((w) => Math.max(1, Math.round(w)));
  let sum = sizes.reduce((a, b) => a + b, 0);
  for (; sum < total; sum++) sizes[sizes.indexOf(Math.min(...sizes))]! += 1;
  for (; sum > total && sum > sizes.length; sum--) sizes[sizes.indexOf(Math.max(...sizes))]! -= 1;
  return sizes;
}

const chaptersWanted = (sceneCount: number) => Math.ceil(sceneCount / REGROUP_SCENES_PER_CHAPTER);
const purposeOf = (ctx: StageContext) => (ctx.project.revisionNotes ? "outline-revision" : "outline");

/**
 * How a revision shows the outline under review: every card, or each chapter as one line of scene
 * titles, for a window too small for the whole of it.
 */
const REVIEWED_VIEWS = ["cards", "titles"] as const;
type ReviewedView = (typeof REVIEWED_VIEWS)[number];

/** The same outline request with the reviewed outline in each view, the fullest first. */
function inEveryView(ctx: StageContext, request: (view: ReviewedView) => string[]): string[] {
  const views = ctx.project.revisionNotes && ctx.plan.outline ? REVIEWED_VIEWS : REVIEWED_VIEWS.slice(0, 1);
  return views.map((view) => request(view).join("\n\n"));
}

/** What every outline call opens with, the same bytes each time so the provider's prompt cache serves it. */
function outlineBrief(ctx: StageContext, view: ReviewedView): string[] {
  const { project, plan } = ctx;
  const brief = [
    `Plan the master outline of this novel: exactly ${project.sceneCount} scenes in reading order, grouped into chapters. It is planned in parts: the chapters first, then the scene cards a few chapters at a time.`,
    premiseBlock(project),
    conceptMarkdown(need(plan, "concept")),
    worldMarkdown(need(plan, "world")),
    beatsMarkdown(need(plan, "beats")),
    castMarkdown(need(plan, "characters")),
  ];
  if (project.revisionNotes && plan.outline) {
    brief.push(
      `The author reviewed the previous outline:\n\n${outlineMarkdown(plan.outline, () => view === "cards")}`,
      `Revise it following the author's notes:\n${project.revisionNotes}`,
    );
  }
  return brief;
}

function chaptersRequest(sceneCount: number): string {
  return [
    `Plan the chapters now: about ${chaptersWanted(sceneCount)} chapters in reading order,`,
    `holding exactly ${sceneCount} scenes between them. For each chapter give its title, a one- or two-sentence`,
    "summary of what happens in it, the beat or beats of the beat sheet it serves, and how many scenes it",
    `holds (usually 2–4, at most ${MAX_SCENES_PER_CHAPTER}).`,
  ].join(" ");
}

function chapterPlanMarkdown(chapters: PlannedChapter[]): string {
  let next = 1;
  const lines = chapters.map((c) => {
    const scenes = c.scenes === 1 ? `scene ${next}` : `scenes ${next}–${next + c.scenes - 1}`;
    next += c.scenes;
    return `Chapter ${c.number}: ${c.title} (${scenes}; ${c.beats}). ${c.summary}`;
  });
  return ["# The chapters", ...lines].join("\n");
}

/** The story the cards already tell, so the next part carries on from it. */
function cardsSoFar(earlier: RawScene[]): string[] {
  if (earlier.length === 0) return [];
  const lines = earlier.map((s, i) => `Scene ${i + 1} (chapter ${s.chapter}): ${s.title}. ${s.summary}`);
  return [["# The scene cards written so far", ...lines].join("\n")];
}

function cardsRequest(ctx: StageContext, part: Part): string {
  const { project } = ctx;
  const average = Math.round(project.targetWords / project.sceneCount);
  const count = part.last - part.first + 1;
  const chapters = part.chapters
    .map((c) => `chapter ${c.number} (${c.scenes === 1 ? "1 scene" : `${c.scenes} scenes`})`)
    .join(", ");
  return [
    `Write the scene cards for scenes ${part.first}–${part.last} of ${project.sceneCount}: exactly ${count} cards`,
    `in reading order, for ${chapters}. For each scene give: scene title,`,
    "point-of-view character, place (a named place from the world), characters present (names exactly as in",
    "the cast), the beat it serves, the POV character's goal, the conflict, the outcome, a 2–4 sentence",
    "summary, up to 3 motif cues (which motif appears and how), tension 1–10 following the beat sheet, and",
    `target words (about ${average} on average; more for climactic scenes, fewer for transitions).`,
  ].join(" ");
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
    // Outlines planned before cards carried their setups have none.
    s.setups?.length ? `Plant for later: ${s.setups.join("; ")}` : "",
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
    summary: `${o.scenes.length} scenes in ${o.chapters.length} chapters, ${thousands(o.scenes.reduce((a, s) => a + s.targetWords, 0))} words planned.`,
    artifacts: [{ name: "outline.md", markdown: outlineMarkdown(o) }],
  }),
  // The outline lays out the book's scene rows and uses up the author's revision notes.
  effects: (o: Outline) => ({ outline: o, notesUsed: true }),
});

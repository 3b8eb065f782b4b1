import { z } from "zod";
import { defineStage } from "./definition";
import { askPlanner, nonEmpty, premiseBlock, type StageContext } from "./types";

/** Stage 1 — High Concept: the book's promise, its voice and its recurring motifs. */
export const ConceptSchema = z.object({
  title: nonEmpty(),
  logline: nonEmpty(),
  genre: nonEmpty(),
  comparableTitles: z.array(z.string()).min(2).max(4),
  themes: z.array(z.string()).min(2).max(5),
  tone: z.string(),
  pov: z.string().describe("point of view, e.g. close third person, single POV"),
  tense: z.string().describe("past or present"),
  styleGuide: z.array(z.string()).min(5).max(12).describe("concrete rules for the prose"),
  motifs: z
    .array(z.object({ name: z.string(), kind: z.enum(["image", "object", "phrase"]), meaning: z.string() }))
    .min(3)
    .max(5),
  endingDirection: z.string(),
  styleSample: z
    .string()
    .describe(
      "a passage of 120–180 words in the book's point of view, tense, tone and style, not taken from any scene: the voice every scene is written in",
    ),
});
export type Concept = z.infer<typeof ConceptSchema>;

function conceptRequest(ctx: StageContext): string {
  return [
    "Develop the high concept for this novel.",
    premiseBlock(ctx.project),
    "Give a title (keep the author's working title if one is given), a one-sentence logline, the genre,",
    "2–4 comparable published titles, themes, tone, point of view and tense, a style guide of 5–12 concrete",
    "rules for the prose (sentence rhythm, diction, what to avoid), 3–5 motifs (an image, object or phrase",
    "and what it means in this story), the direction of the ending, and a sample passage of 120–180",
    "words in the book's point of view, tense and voice (not a scene of the book) that every scene",
    "will be written to match.",
  ].join("\n");
}

export async function runConcept(ctx: StageContext): Promise<Concept> {
  const value = await askPlanner(
    ctx,
    { stage: "concept", name: "high_concept", purpose: "concept", outputTokens: 2_000 },
    ConceptSchema,
    conceptRequest(ctx),
  );
  // Titles name threads, files and messages: a runaway one is cut to a sane length.
  const title = (ctx.project.title ?? value.title).replace(/\s+/g, " ").trim().slice(0, 120);
  return { ...value, title };
}

/** The concept; `{ ending: false }` leaves out where the book ends, for the writer who must not know. */
export function conceptMarkdown(c: Concept, { ending = true } = {}): string {
  return [
    `# ${c.title}`,
    `*${c.logline}*`,
    `**Genre:** ${c.genre} · **Tone:** ${c.tone} · **POV:** ${c.pov}, ${c.tense} tense`,
    `**Comparable titles:** ${c.comparableTitles.join("; ")}`,
    `**Themes:** ${c.themes.join("; ")}`,
    "## Style guide",
    ...c.styleGuide.map((rule) => `- ${rule}`),
    "## Motifs",
    ...c.motifs.map((m) => `- **${m.name}** (${m.kind}): ${m.meaning}`),
    ...(ending ? ["## Ending", c.endingDirection] : []),
    // Concepts made before the sample was asked for have none.
    ...(c.styleSample ? ["## The voice, in a sample passage", c.styleSample] : []),
  ].join("\n\n");
}

export const highConcept = defineStage({
  id: "concept",
  label: "High Concept",
  kind: "plan",
  needs: [],
  produces: "concept",
  run: runConcept,
  present: (c: Concept) => ({
    summary: `**${c.title}** — ${c.logline}\n${c.genre} · ${c.pov}, ${c.tense} tense · motifs: ${c.motifs.map((m) => m.name).join(", ")}`,
    artifacts: [{ name: "concept.md", markdown: conceptMarkdown(c) }],
  }),
  effects: (c: Concept) => ({ title: c.title }),
});

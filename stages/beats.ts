import { z } from "zod";
import { conceptMarkdown } from "./concept";
import { defineStage } from "./definition";
import { askPlanner, need, premiseBlock, type StageContext } from "./types";
import { worldMarkdown } from "./world";

/** Stage 3 — Beat Sheet: the story's turning points on a named structure. */
export const BeatsSchema = z.object({
  structure: z.string().describe("the named structure, e.g. Save the Cat, Three-Act, Hero's Journey"),
  beats: z
    .array(
      z.object({
        name: z.string(),
        purpose: z.string(),
        position: z.number().min(0).max(100).describe("position in the book, percent"),
        tension: z.number().int().min(1).max(10),
      }),
    )
    .min(6)
    .max(20),
});
export type Beats = z.infer<typeof BeatsSchema>;

export async function runBeats(ctx: StageContext): Promise<Beats> {
  const value = await askPlanner(
    ctx,
    { stage: "beats", name: "beat_sheet", purpose: "beats", outputTokens: 2_000 },
    BeatsSchema,
    [
      "Write the beat sheet for this novel.",
      premiseBlock(ctx.project),
      conceptMarkdown(need(ctx.plan, "concept")),
      worldMarkdown(need(ctx.plan, "world")),
      "Choose a named story structure and list its beats in order, each with its purpose in this story,",
      "its position in the book as a percentage, and its tension from 1 (calm) to 10 (climax).",
    ].join("\n\n"),
  );
  return { ...value, beats: [...value.beats].sort((a, b) => a.position - b.position) };
}

export function beatsMarkdown(b: Beats): string {
  return [
    `# Beat sheet (${b.structure})`,
    ...b.beats.map(
      (beat) =>
        `- **${beat.name}** (${Math.round(beat.position)}%, tension ${beat.tension}): ${beat.purpose}`,
    ),
  ].join("\n");
}

export const beatSheet = defineStage({
  id: "beats",
  label: "Beat Sheet",
  kind: "plan",
  needs: ["concept", "world"],
  produces: "beats",
  run: runBeats,
  present: (b: Beats) => ({
    summary: `${b.structure}: ${b.beats.length} beats (${b.beats.map((x) => x.name).join(" → ")})`,
    artifacts: [{ name: "beats.md", markdown: beatsMarkdown(b) }],
  }),
});

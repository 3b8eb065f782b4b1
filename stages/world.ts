import { z } from "zod";
import { conceptMarkdown } from "./concept";
import { defineStage } from "./definition";
import { askPlanner, need, premiseBlock, type StageContext } from "./types";

/** Stage 2 — World Modeling: where the story happens and the rules it cannot break. */
export const WorldSchema = z.object({
  setting: z.string(),
  rules: z.array(z.string()).min(2).max(10),
  history: z.string(),
  places: z
    .array(z.object({ name: z.string(), description: z.string(), sensoryDetail: z.string() }))
    .min(3)
    .max(10),
  society: z.string().describe("social structures, institutions, power"),
  glossary: z.array(z.object({ term: z.string(), definition: z.string() })).max(15),
});
export type World = z.infer<typeof WorldSchema>;

export async function runWorld(ctx: StageContext): Promise<World> {
  const concept = need(ctx.plan, "concept");
  const value = await askPlanner(
    ctx,
    { stage: "world", name: "world", purpose: "world", outputTokens: 3_000 },
    WorldSchema,
    [
      "Build the world of this novel.",
      premiseBlock(ctx.project),
      conceptMarkdown(concept),
      "Describe the setting, the rules of the world (what is possible, what it costs), its history,",
      "3–10 named places each with a concrete sensory detail (sound, smell, texture), the social",
      "structures, and a short glossary of terms the story uses.",
    ].join("\n\n"),
  );
  return value;
}

export function worldMarkdown(w: World): string {
  return [
    "# World",
    w.setting,
    "## Rules",
    ...w.rules.map((r) => `- ${r}`),
    "## History",
    w.history,
    "## Places",
    ...w.places.map((p) => `- **${p.name}**: ${p.description} *${p.sensoryDetail}*`),
    "## Society",
    w.society,
    ...(w.glossary.length > 0
      ? ["## Glossary", ...w.glossary.map((g) => `- **${g.term}**: ${g.definition}`)]
      : []),
  ].join("\n\n");
}

export const worldModeling = defineStage({
  id: "world",
  label: "World Modeling",
  kind: "plan",
  needs: ["concept"],
  produces: "world",
  run: runWorld,
  present: (w: World) => ({
    summary: `${w.setting}\nPlaces: ${w.places.map((p) => p.name).join(", ")}`,
    artifacts: [{ name: "world.md", markdown: worldMarkdown(w) }],
  }),
});

import { z } from "zod";
import { beatsMarkdown } from "./beats";
import { conceptMarkdown } from "./concept";
import { defineStage } from "./definition";
import { askPlanner, need, nonEmpty, premiseBlock, type StageContext } from "./types";
import { worldMarkdown } from "./world";

/** Stage 4 — Character Profiles: the cast, with what drives each of them and how they speak. */
export const CastSchema = z.object({
  characters: z
    .array(
      z.object({
        name: nonEmpty(),
        role: z.string(),
        want: z.string(),
        need: z.string(),
        wound: z.string(),
        arc: z.string(),
        voice: z.string().describe("speech habits: rhythm, vocabulary, tics"),
        look: z.string(),
        relationships: z.array(z.object({ with: z.string(), nature: z.string() })).max(8),
      }),
    )
    .min(3)
    .max(12),
});
export type Cast = z.infer<typeof CastSchema>;

export async function runCharacters(ctx: StageContext): Promise<Cast> {
  const value = await askPlanner(
    ctx,
    { stage: "characters", name: "cast", purpose: "cast", outputTokens: 4_000 },
    CastSchema,
    [
      "Create the cast of this novel.",
      premiseBlock(ctx.project),
      conceptMarkdown(need(ctx.plan, "concept")),
      worldMarkdown(need(ctx.plan, "world")),
      beatsMarkdown(need(ctx.plan, "beats")),
      "For 3–12 characters give: full name (distinct first letters where possible), role in the story,",
      "want, need, wound, arc, voice (speech habits), look, and relationships to the others by name.",
    ].join("\n\n"),
  );
  return { characters: dedupeByName(value.characters) };
}

/** Two characters with one name would make every later name check ambiguous. */
function dedupeByName<T extends { name: string }>(characters: T[]): T[] {
  const seen = new Set<string>();
  return characters.filter((c) => {
    const key = c.name.trim().toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The cast; `{ arcs: false }` shows them as they are introduced, without where their arcs end. */
export function castMarkdown(cast: Cast, { arcs = true } = {}): string {
  return [
    arcs ? "# Cast" : "# Cast, as the book introduces them",
    ...cast.characters.map((c) =>
      [
        `## ${c.name} (${c.role})`,
        `**Wants:** ${c.want} **Needs:** ${c.need} **Wound:** ${c.wound}`,
        arcs ? `**Arc:** ${c.arc}` : "",
        `**Voice:** ${c.voice}`,
        `**Look:** ${c.look}`,
        c.relationships.length > 0
          ? `**Relationships:** ${c.relationships.map((r) => `${r.with}: ${r.nature}`).join("; ")}`
          : "",
      ]
        .filter(Boolean)
        .join("\n"),
    ),
  ].join("\n\n");
}

export const characterProfiles = defineStage({
  id: "characters",
  label: "Character Profiles",
  kind: "plan",
  needs: ["concept", "world", "beats"],
  produces: "characters",
  run: runCharacters,
  present: (c: Cast) => ({
    summary: c.characters.map((x) => `**${x.name}** — ${x.role}`).join("\n"),
    artifacts: [{ name: "cast.md", markdown: castMarkdown(c) }],
  }),
});

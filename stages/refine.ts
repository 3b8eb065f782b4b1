import { z } from "zod";
import { defineStage, everyScene, MANUSCRIPT_NEEDS } from "./definition";
import { sceneCardMarkdown } from "./outline";
import { type RevisionScene, rewriteScene } from "./rewrite";
import { callFor, need, type StageContext } from "./types";

/** Stage 7 — Self-Refinement: a critique of the scene against its card and the style guide, then a revision. */
export const CritiqueSchema = z.object({
  strengths: z.array(z.string()).max(4),
  issues: z
    .array(z.object({ problem: z.string(), fix: z.string() }))
    .max(6)
    .describe("the most important problems, each with a concrete fix"),
});
export type Critique = z.infer<typeof CritiqueSchema>;

export async function critiqueScene(ctx: StageContext, scene: RevisionScene): Promise<Critique> {
  const concept = need(ctx.plan, "concept");
  const { value } = await ctx.llm.structured(
    CritiqueSchema,
    "scene_critique",
    [
      { role: "system", content: "You are an exacting developmental editor. Answer only with JSON." },
      {
        role: "user",
        content: [
          `Critique scene ${scene.number}, "${scene.title}", against its outline card and the book's style guide.`,
          `Style guide:\n${concept.styleGuide.map((r) => `- ${r}`).join("\n")}`,
          `Card:\n${sceneCardMarkdown(scene.card)}`,
          `"""\n${scene.text}\n"""`,
          "Name what works, then up to six problems that matter most (card goals missed, style rules broken, flat beats), each with a concrete fix.",
        ].join("\n\n"),
      },
    ],
    { ...callFor(ctx, "refine", "edit", "critique", scene.number), outputTokens: 1_200 },
  );
  return value;
}

export async function refineScene(ctx: StageContext, prefix: string, scene: RevisionScene): Promise<string> {
  const critique = await critiqueScene(ctx, scene);
  const fixes = critique.issues.map((i) => `${i.problem} Fix: ${i.fix}`);
  return rewriteScene(ctx, prefix, scene, "refine", "apply the editor's critique", [
    ...(fixes.length > 0 ? fixes : ["Tighten the prose and sharpen the scene's turn."]),
    ...critique.strengths.map((s) => `Keep: ${s}`),
  ]);
}

export const selfRefinement = defineStage({
  id: "refine",
  label: "Self-Refinement",
  kind: "revision",
  needs: MANUSCRIPT_NEEDS,
  // The critique's fixes deepen a scene: the rewrite must not come back shorter.
  work: everyScene(async (run, s) => ({
    text: await refineScene(run.ctx, run.prefix, s),
    direction: "deepen" as const,
  })),
});

import { z } from "zod";
import { defineStage, everyScene, MANUSCRIPT_NEEDS } from "./definition";
import { sceneCardMarkdown } from "./outline";
import { type RevisionScene, rewriteScene } from "./rewrite";
import { callFor, need, type StageContext } from "./types";

/**
 * The fixed rubric every scene is scored on, 1 (poor) to 5 (strong), the same for every scene of every
 * book, so scores compare across scenes and before and after a revision.
 */
export const RUBRIC = {
  conflict: "conflict on the page: opposition the reader watches, not reported",
  agency: "character agency: the point-of-view character chooses and acts",
  specificity: "specificity: concrete, particular detail rather than generic description",
  dialogue: "dialogue with subtext: people do not say exactly what they mean",
  pov: "POV and tense discipline: no slips out of the book's point of view or tense",
  card: "card adherence: the card's goal, conflict and outcome all happen",
  ending: "ending without summary: the scene ends on action or image, not a line that explains it",
} as const;
export type RubricScores = Record<keyof typeof RUBRIC, number>;

/** A scene scoring under this on any criterion is rewritten; one at or above it on all is left alone. */
export const RUBRIC_BAR = 4;

const score = (what: string) => z.number().int().min(1).max(5).describe(what);

/** Stage 7 — Self-Refinement: a scene scored on the rubric; only scenes under the bar are revised. */
export const CritiqueSchema = z.object({
  scores: z.object({
    conflict: score(RUBRIC.conflict),
    agency: score(RUBRIC.agency),
    specificity: score(RUBRIC.specificity),
    dialogue: score(RUBRIC.dialogue),
    pov: score(RUBRIC.pov),
    card: score(RUBRIC.card),
    ending: score(RUBRIC.ending),
  }),
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
          `Score it from 1 (poor) to 5 (strong) on each criterion:\n${Object.entries(RUBRIC)
            .map(([k, what]) => `- ${k}: ${what}`)
            .join("\n")}`,
          `Style guide:\n${concept.styleGuide.map((r) => `- ${r}`).join("\n")}`,
          `Card:\n${sceneCardMarkdown(scene.card)}`,
          ...(scene.authorNote ? [authorNoteLine(scene.authorNote)] : []),
          `"""\n${scene.text}\n"""`,
          `Name what works, then up to six problems that matter most (${scene.authorNote ? "what the author's note asks for first, then " : ""}card goals missed, style rules broken, flat beats), each with a concrete fix.`,
        ].join("\n\n"),
      },
    ],
    { ...callFor(ctx, "refine", "edit", "critique", scene.number), outputTokens: 1_200 },
  );
  return value;
}

/** The criteria a critique scored under the bar, lowest first. */
export function underBar(scores: RubricScores): (keyof typeof RUBRIC)[] {
  return (Object.keys(RUBRIC) as (keyof typeof RUBRIC)[])
    .filter((k) => scores[k] < RUBRIC_BAR)
    .sort((a, b) => scores[a] - scores[b]);
}

/** The author's note on the scene's chapter, as the critique and the rewrite are given it. */
export function authorNoteLine(note: string): string {
  return `The author's note on this chapter (it comes first): ${note}`;
}

/**
 * The rewrite a critique asks for: the author's note on the chapter first, when there is one, then the
 * low scores, then the editor's fixes.
 */
export function refineScene(
  ctx: StageContext,
  prefix: string,
  scene: RevisionScene,
  critique: Critique,
): Promise<string> {
  const low = underBar(critique.scores).map((k) => `Raise ${RUBRIC[k]} (scored ${critique.scores[k]}/5).`);
  const fixes = critique.issues.map((i) => `${i.problem} Fix: ${i.fix}`);
  return rewriteScene(ctx, prefix, scene, "refine", "apply the editor's critique", [
    ...(scene.authorNote ? [authorNoteLine(scene.authorNote)] : []),
    ...low,
    ...fixes,
    ...critique.strengths.map((s) => `Keep: ${s}`),
  ]);
}

export const selfRefinement = defineStage({
  id: "refine",
  label: "Self-Refinement",
  kind: "revision",
  needs: MANUSCRIPT_NEEDS,
  // A scene at or above the bar on every criterion is left alone, unless its chapter has the author's
  // note. One under it (or noted) is rewritten, and the rewrite, which deepens it, must not come back
  // shorter; it is scored again for the report.
  work: everyScene(async (run, s) => {
    const critique = await critiqueScene(run.ctx, s);
    if (underBar(critique.scores).length === 0 && !s.authorNote)
      return { unchanged: true, detail: { rubric: critique.scores } };
    const text = await refineScene(run.ctx, run.prefix, s, critique);
    const after = await critiqueScene(run.ctx, { ...s, text });
    return {
      text,
      direction: "deepen" as const,
      detail: { rubric: critique.scores, rubricAfter: after.scores },
    };
  }),
});

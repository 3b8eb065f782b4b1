import { z } from "zod";
import type { Messages } from "../src/llm/types";
import type { SceneCard } from "./outline";
import { callFor, type LengthRecord, perCount, type StageContext, sceneUnit } from "./types";

/**
 * A scene's beat plan: what happens in order, with the words each part gets. Drafting writes against
 * it, so a model that under-writes is asked for the length beat by beat, and a short draft is expanded
 * where it summarised instead of being continued past its ending.
 */
export interface Beat {
  what: string;
  words: number;
}

export const scenePlanSchema = perCount((sceneCount: number) =>
  z.object({
    scenes: z
      .array(
        z.object({
          beats: z
            .array(
              z.object({
                what: z.string().describe("one or two sentences: what happens in this beat"),
                words: z.number().int().min(20).max(5_000).describe("words this beat gets"),
              }),
            )
            .min(2)
            .max(8),
        }),
      )
      .length(sceneCount),
  }),
);

/** Words per beat scaled so a scene's beats add up to its target exactly. */
export function fitBeatWords(beats: Beat[], target: number): Beat[] {
  const usable = beats.filter((b) => b.what.trim() !== "");
  if (usable.length === 0) return [{ what: "The scene as its card describes it.", words: target }];
  const total = usable.reduce((sum, b) => sum + Math.max(1, b.words), 0);
  const scaled = usable.map((b) => ({
    what: b.what.trim(),
    words: Math.max(1, Math.round((Math.max(1, b.words) / total) * target)),
  }));
  scaled.at(-1)!.words += target - scaled.reduce((sum, b) => sum + b.words, 0);
  if (scaled.at(-1)!.words < 1) return fitBeatWords(scaled.slice(0, -1), target);
  return scaled;
}

/**
 * Beat plans for the given scenes (the next few, in order), in one call. `prefixes` are the drafting
 * prefix in ever smaller shapes, the cached one first: the call takes the first that fits the window.
 */
export async function planScenes(
  ctx: StageContext,
  stage: string,
  prefixes: Iterable<string>,
  cards: SceneCard[],
): Promise<Beat[][]> {
  const first = cards[0]!;
  const opts = {
    ...callFor(ctx, stage, "plan", "scene-plan", first.number),
    // Planned when its first scene is about to be written: a step of writing that scene.
    ...(ctx.ahead ? {} : { unit: sceneUnit(stage, first.number) }),
    // A beat is some 40 tokens of JSON; a scene's plan, with room for six, about 300.
    outputTokens: 300 * cards.length,
  };
  const ask = (prefix: string): Messages => [
    { role: "system", content: prefix },
    {
      role: "user",
      content: [
        `Plan the beats of scene${cards.length > 1 ? "s" : ""} ${first.number}${cards.length > 1 ? `–${cards.at(-1)!.number}` : ""} before they are written.`,
        ...cards.map(
          (c) =>
            `Scene ${c.number}, "${c.title}" (chapter ${c.chapter}, ${c.targetWords} words): ${c.summary} Goal: ${c.goal} Conflict: ${c.conflict} Outcome: ${c.outcome}`,
        ),
        "For each scene, in order, give 3–6 beats: what happens, in order, each with the words it deserves (dramatised moments more, transitions fewer), adding up to the scene's words. The last beat ends the scene as its outcome says.",
      ].join("\n\n"),
    },
  ];
  const messages = ctx.llm.firstThatFits(
    (function* () {
      for (const prefix of prefixes) yield ask(prefix);
    })(),
    opts,
  );
  const { value } = await ctx.llm.structured(scenePlanSchema(cards.length), "scene_plan", messages, opts);
  return cards.map((card, i) => fitBeatWords(value.scenes[i]?.beats ?? [], card.targetWords));
}

/** The plan as the drafting prompt shows it, with each beat's words scaled to what is asked. */
export function beatLines(beats: Beat[], scale = 1): string {
  return beats.map((b, i) => `${i + 1}. (about ${Math.round(b.words * scale)} words) ${b.what}`).join("\n");
}

/** Recent drafts whose share of the asked-for words `askFor` looks at. */
const SHARES_KEPT = 9;

/** Notes what one drafting call was asked for and what it came with. */
export function recordLength(lengths: LengthRecord | undefined, asked: number, written: number): void {
  if (!lengths || asked <= 0) return;
  lengths.shares.push(written / asked);
  if (lengths.shares.length > SHARES_KEPT) lengths.shares.splice(0, lengths.shares.length - SHARES_KEPT);
}

/**
 * A model that has written less than asked is asked for that much more, within reason: the target
 * divided by the median share of its recent drafts, so an answer that ran on past its length (and was
 * cut off) does not make the next ask too small.
 */
export function askFor(target: number, lengths: LengthRecord | undefined): number {
  if (!lengths || lengths.shares.length === 0) return target;
  const sorted = [...lengths.shares].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const share = Math.min(1, Math.max(0.5, median));
  return share >= 0.97 ? target : Math.round(target / share);
}

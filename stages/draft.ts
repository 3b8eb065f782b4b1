// Over 300 lines: the drafting prompt in its shapes, the scene written against its beats and expanded
// when short, and the digests the next prompts read are one flow that shares its prompt parts.
import { z } from "zod";
import type { Messages } from "../src/llm/types";
import { countWords, lastWords } from "../src/text/words";
import { castMarkdown } from "./characters";
import { conceptMarkdown } from "./concept";
import {
  type DraftedScene,
  defineStage,
  MANUSCRIPT_NEEDS,
  type SceneContext,
  type Standing,
  type StoryBefore,
} from "./definition";
import { type Outline, type SceneCard, sceneCardMarkdown } from "./outline";
import { askFor, type Beat, beatLines, planScenes, recordLength } from "./scene-plan";
import { callFor, need, type Plan, type ProjectBrief, type StageContext, sceneUnit } from "./types";
import { worldMarkdown } from "./world";

/** What one scene changed for one character, as its digest records it: the ledger's row. */
const CharacterChangeSchema = z.object({
  name: z.string().describe("exactly as in the cast"),
  location: z.string().describe("where they are when the scene ends; empty if the scene does not say"),
  condition: z
    .string()
    .describe("injuries, exhaustion, state of body or mind when the scene ends; empty if unchanged"),
  learned: z.array(z.string()).max(5).describe("what they found out in this scene"),
  told: z.array(z.string()).max(5).describe("what they told to whom, e.g. 'told Ada the ledger is forged'"),
  holds: z.array(z.string()).max(6).describe("what they carry or keep when the scene ends"),
  relationships: z
    .array(z.string())
    .max(4)
    .describe("how a relationship moved, as 'Name: what changed', e.g. 'Ada: no longer trusts her'"),
});
export type CharacterChange = z.infer<typeof CharacterChangeSchema>;

/** Stage 6 — Scene Drafting: one scene's prose, then its summary, its facts and its state changes. */
export const SceneDigestSchema = z.object({
  summary: z.string().describe("3–5 sentences: what happens, what changes"),
  facts: z
    .array(z.string())
    .max(12)
    .describe(
      "continuity facts this scene establishes: names, places, objects, injuries, times, who knows what",
    ),
  characters: z.array(CharacterChangeSchema).max(12).describe("every character who appears in the scene"),
  threadsOpened: z
    .array(z.string())
    .max(5)
    .describe("questions, promises or dangers this scene sets up and leaves open"),
  threadsClosed: z
    .array(z.string())
    .max(5)
    .describe("open threads this scene pays off, quoted exactly from the list given"),
});
export const ChapterDigestSchema = z.object({ summary: z.string().describe("4–6 sentences") });

/** A draft with at least this share of its target is accepted; a shorter one is expanded. */
const ACCEPTED_SHARE = 0.85;
/** Below this share after its expansion, a scene is an unusable answer and the unit fails. */
const MIN_SHARE_OF_TARGET = 0.6;
const MAX_EXPANSIONS = 1;
/** Scenes longer than this are written in parts, a few beats at a time. */
const PART_WORDS = 2_000;

/**
 * The byte-stable opening of every drafting prompt, the same for every scene so the provider's prompt
 * cache serves it: the rules, the author's own words, the concept, the voice, the world, the cast as
 * the book introduces them, and a map of the chapters, one line each. What the book has not reached
 * yet — later scenes' cards, where the arcs end, the ending — is not in it: the writer knows the story
 * only as far as it has happened.
 */
export function stablePrefix(plan: Plan, project: ProjectBrief): string {
  const concept = need(plan, "concept");
  return [
    `You are the novelist writing "${concept.title}". You write one scene at a time, in the book's voice.`,
    [
      "Rules for every answer:",
      "- Write only the scene's prose: no title, no heading, no scene number, no notes, no commentary.",
      `- Point of view: ${concept.pov}. Tense: ${concept.tense}. Never leave them.`,
      "- Stay inside the scene card: its POV, place, characters, goal, conflict and outcome.",
      "- Use the characters' names exactly as in the cast. Keep every established fact and where everyone is.",
      "- Show through concrete action, sensory detail and dialogue; give each character their own voice.",
      "- End the scene at a natural break with a complete sentence.",
      "- Never end a scene on a line that sums it up or states what it meant.",
      '- Never hint at what is to come ("little did they know", "it would be the last time").',
      "- Never end a scene on a character's realisation unless the card's outcome is one.",
      "- You know the story only as far as it has happened: later chapters are not written yet.",
    ].join("\n"),
    authorsWords(project),
    conceptMarkdown(concept, { ending: false }),
    worldMarkdown(need(plan, "world")),
    castMarkdown(need(plan, "characters"), { arcs: false }),
    chapterMap(need(plan, "outline")),
  ].join("\n\n");
}

/** The author's premise and voice request, word for word. */
function authorsWords(project: ProjectBrief): string {
  return [
    `The author's premise, in their words:\n"""\n${project.premise}\n"""`,
    ...(project.voice ? [`The voice the author asked for, in their words:\n"""\n${project.voice}\n"""`] : []),
  ].join("\n\n");
}

/** The whole book, one line per chapter: where each chapter falls, not what happens in it. */
function chapterMap(outline: Outline): string {
  const lines = outline.chapters.map((chapter) => {
    const members = outline.scenes.filter((s) => s.chapter === chapter.number);
    const first = members[0]?.number;
    const last = members.at(-1)?.number;
    const span =
      first === undefined ? "no scenes" : first === last ? `scene ${first}` : `scenes ${first}–${last}`;
    return `- Chapter ${chapter.number}: ${chapter.title} (${span})`;
  });
  return ["# The chapters", ...lines].join("\n");
}

/**
 * How much of the book around a scene its drafting prompt carries. A prompt that would not fit the
 * model's context window with room for the scene is made smaller, a step at a time, in this order: the
 * previous scene given by its last words rather than whole; the story so far with its older chapters
 * merged into their first sentences, then left to the chapter map; then the previous and next scenes'
 * cards dropped and the previous scene's tail shortened. The first shape is the whole prompt.
 */
interface DraftShape {
  earlier: "each" | "merged" | "mapped";
  neighbourCards: boolean;
  tailWords?: number;
  /** The previous scene given whole, after the story as it stood before it, rather than its last words. */
  previousWhole?: boolean;
}

/** Words of the previous scene kept once everything else has been shortened. */
const SHORT_TAIL_WORDS = 150;

export const DRAFT_SHAPES: readonly DraftShape[] = [
  { earlier: "each", neighbourCards: true, previousWhole: true },
  { earlier: "each", neighbourCards: true },
  { earlier: "merged", neighbourCards: true },
  { earlier: "mapped", neighbourCards: true },
  { earlier: "mapped", neighbourCards: false, tailWords: SHORT_TAIL_WORDS },
];

/** The drafting prompt in every shape, largest first; the model takes the first that fits its window. */
export function* draftPrompts(prefix: string, context: SceneContext, part?: DraftPart): Generator<Messages> {
  for (const shape of DRAFT_SHAPES) {
    const whole = shape.previousWhole ? context.previousWhole : undefined;
    if (whole && context.previousScene) {
      // The previous scene's digest was shown these same messages: the cache serves them to both calls.
      yield [
        ...sceneAsWritten(prefix, whole.storyBefore, context.previousScene, whole.text, context.sceneCount),
        { role: "user", content: variablePart(context, shape, part) },
      ];
      continue;
    }
    if (shape.previousWhole) continue;
    // The story so far only grows from one scene to the next: sent on its own, right after the prefix,
    // the provider's prompt cache serves it too.
    const story = storyPart(context, shape);
    yield [
      { role: "system", content: prefix },
      ...(story ? [{ role: "user" as const, content: story }] : []),
      { role: "user", content: variablePart(context, shape, part) },
    ];
  }
}

/**
 * The scene asked for as the next turn of the previous scene's drafting conversation, when this process
 * has it: that call's messages and the scene it wrote come first, so the provider's cache serves them
 * (the call itself put the messages there; the scene's digest, the same conversation, the scene). Then
 * the drafting prompt in its usual shapes, for a window the conversation does not fit.
 */
function* conversationThenShapes(
  prefix: string,
  context: SceneContext,
  part?: DraftPart,
): Generator<Messages> {
  if (context.conversation) {
    yield [
      ...context.conversation.sent,
      { role: "assistant", content: context.conversation.text },
      { role: "user", content: variablePart(context, DRAFT_SHAPES[0]!, part) },
    ];
  }
  yield* draftPrompts(prefix, context, part);
}

/**
 * The opening a scene's digest and the next scene's draft share, byte for byte: the prefix, the story
 * before the scene, and the scene as written under its card.
 */
function sceneAsWritten(
  prefix: string,
  story: StoryBefore,
  card: SceneCard,
  text: string,
  sceneCount: number,
): Messages {
  const told = storyPart(story, DRAFT_SHAPES[0]!);
  return [
    { role: "system", content: prefix },
    ...(told ? [{ role: "user" as const, content: told }] : []),
    {
      role: "user",
      content: `Scene ${card.number} of ${sceneCount} as written, under its card:\n${sceneCardMarkdown(card)}\n\n"""\n${text}\n"""`,
    },
  ];
}

/** The chapters before this scene's and the scenes before it in its chapter, as the digests tell them. */
function storyPart(c: StoryBefore, shape: DraftShape): string | null {
  const parts: string[] = [];
  if (c.earlierChapters.length > 0) {
    parts.push(`Story so far, by chapter:\n${storySoFar(c.earlierChapters, shape.earlier)}`);
  }
  if (c.chapterScenes.length > 0) {
    parts.push(
      `Earlier in this chapter:\n${c.chapterScenes.map((s) => `Scene ${s.number}, ${s.title}: ${s.summary}`).join("\n")}`,
    );
  }
  return parts.length > 0 ? parts.join("\n\n") : null;
}

/** What one drafting call writes: the whole scene, or some of its beats; and how many words to ask. */
export interface DraftPart {
  ask: number;
  beats?: { from: number; to: number; scale: number };
  soFar?: string;
}

function variablePart(c: SceneContext, shape: DraftShape, part?: DraftPart): string {
  const { scene } = c;
  const ask = part?.ask ?? scene.targetWords;
  const parts = [
    `Draft scene ${scene.number} of ${c.sceneCount}: "${scene.title}" (chapter ${scene.chapter}: ${c.chapterTitle})`,
    `Target length: about ${ask} words.`,
  ];
  parts.push(
    `Where the story stands: chapter ${scene.chapter} of ${c.chapterCount}. Nothing after this scene has happened yet.`,
  );
  if (c.standing) parts.push(standingLines(c.standing));
  if (shape.previousWhole) {
    parts.push(`Scene ${scene.number} picks up from scene ${scene.number - 1}, as written above.`);
  } else {
    if (c.previousScene && shape.neighbourCards)
      parts.push(`The previous scene's card:\n${sceneCardMarkdown(c.previousScene)}`);
    const tail =
      c.previousTail && shape.tailWords ? lastWords(c.previousTail, shape.tailWords) : c.previousTail;
    if (tail) parts.push(`The previous scene ends with these words:\n"""\n${tail}\n"""`);
  }
  parts.push(`This scene's card:\n${sceneCardMarkdown(scene)}`);
  if (scene.setups?.length) {
    parts.push(
      `Plant in this scene, lightly, for a payoff later in the book:\n${scene.setups.map((x) => `- ${x}`).join("\n")}`,
    );
  }
  if (c.nextScene && shape.neighbourCards)
    parts.push(`The scene after this one (do not write it):\n${sceneCardMarkdown(c.nextScene)}`);
  if (c.redraft) {
    parts.push(
      `You wrote this scene before:\n"""\n${c.redraft.previousText}\n"""\nRewrite it from scratch following the author's notes: ${c.redraft.notes}`,
    );
  }
  if (c.beats && part?.beats) {
    const { from, to, scale } = part.beats;
    parts.push(`The scene's beats, with the words each gets:\n${beatLines(c.beats, scale)}`);
    if (part.soFar) parts.push(`The scene so far:\n"""\n${lastWords(part.soFar, 400)}\n"""`);
    const whole = from === 0 && to === c.beats.length - 1;
    parts.push(
      whole
        ? `Write the complete scene now, beat by beat, about ${ask} words in all.`
        : `Write beats ${from + 1}–${to + 1} now, about ${ask} words${part.soFar ? ", continuing directly from the scene so far" : ""}${to === c.beats.length - 1 ? ", ending the scene" : ", and stop where the next beat begins"}.`,
    );
    return parts.join("\n\n");
  }
  parts.push(`Write the complete scene now, about ${ask} words.`);
  return parts.join("\n\n");
}

/** The ledger's word on the people in this scene and the threads it touches, as the scene begins. */
function standingLines(standing: Standing): string {
  const lines = standing.characters.map((c) => {
    const facts = [
      c.location && `at ${c.location}`,
      c.condition && `condition: ${c.condition}`,
      c.holds.length > 0 && `carries ${c.holds.join(", ")}`,
      c.knows.length > 0 && `knows: ${c.knows.join("; ")}`,
      c.told.length > 0 && `has ${c.told.join("; ")}`,
      c.relationships.length > 0 && `relationships: ${c.relationships.join("; ")}`,
    ].filter(Boolean);
    return `- ${c.name}: ${facts.length > 0 ? facts.join("; ") : "nothing recorded yet"}`;
  });
  if (standing.alsoHere.length > 0)
    lines.push(`- Last seen at this scene's place: ${standing.alsoHere.join(", ")}`);
  const parts = [
    `Where the people of this scene stand as it begins:\n${lines.join("\n") || "- nothing recorded yet"}`,
  ];
  if (standing.threads.length > 0) {
    parts.push(`Open threads this scene touches:\n${standing.threads.map((t) => `- ${t}`).join("\n")}`);
  }
  return parts.join("\n\n");
}

/**
 * Earlier chapters one line each. Merged, all but the latest share one line of their first sentences;
 * mapped, that line only points to the chapter map.
 */
function storySoFar(chapters: SceneContext["earlierChapters"], view: DraftShape["earlier"]): string {
  const line = (ch: (typeof chapters)[number]) => `Chapter ${ch.number}, ${ch.title}: ${ch.summary}`;
  const older = chapters.slice(0, -1);
  const latest = chapters.at(-1)!;
  if (view === "each" || older.length === 0) return chapters.map(line).join("\n");
  const span =
    older.length === 1
      ? `Chapter ${older[0]!.number}`
      : `Chapters ${older[0]!.number}–${older.at(-1)!.number}`;
  const brief =
    view === "merged"
      ? `${span}, in brief: ${older.map((ch) => firstSentence(ch.summary)).join(" ")}`
      : `${span}: see the chapter map above.`;
  return `${brief}\n${line(latest)}`;
}

function firstSentence(text: string): string {
  return /^[\s\S]*?[.!?]["”’')\]]*(?=\s|$)/.exec(text.trim())?.[0] ?? text.trim();
}

/**
 * A short draft written again at its full length: every event kept, in order, and the same ending,
 * with what was summarised turned into scene — rather than continued past the point where it ends.
 */
function expansionPrompt(prefix: string, context: SceneContext, draft: string, ask: number): Messages {
  const { scene } = context;
  return [
    { role: "system", content: prefix },
    {
      role: "user",
      content: [
        `Expand scene ${scene.number} of ${context.sceneCount}: "${scene.title}"`,
        `Target length: about ${ask} words.`,
        `This scene's card:\n${sceneCardMarkdown(scene)}`,
        ...(context.beats ? [`The scene's beats:\n${beatLines(context.beats)}`] : []),
        `The draft, ${countWords(draft)} words, too short:\n"""\n${draft}\n"""`,
        "Write the whole scene again at full length. Keep every event, in order, and end exactly where the draft ends; do not add anything after its ending. Expand what the draft summarises or rushes into moments shown in action, sense detail and dialogue.",
      ].join("\n\n"),
    },
  ];
}

/** Beats in groups of at most `PART_WORDS` words, in order; one group when the scene is short. */
export function beatGroups(beats: Beat[]): { from: number; to: number; words: number }[] {
  const groups: { from: number; to: number; words: number }[] = [];
  beats.forEach((beat, i) => {
    const last = groups.at(-1);
    if (last && last.words + beat.words <= PART_WORDS) {
      last.to = i;
      last.words += beat.words;
    } else groups.push({ from: i, to: i, words: beat.words });
  });
  return groups;
}

/**
 * The scene's prose, written against its beat plan: asked for more words when the model has been
 * writing short, long scenes a few beats at a time, and expanded once when it still falls short.
 */
export async function draftScene(
  ctx: StageContext,
  prefix: string,
  context: SceneContext,
): Promise<DraftedScene> {
  const { scene } = context;
  const stage = context.redraft ? "redraft" : "drafting";
  const call = (purpose: string) => ({
    ...callFor(ctx, stage, "draft", purpose, scene.number),
    unit: sceneUnit(stage, scene.number),
  });
  const writing = ctx.writing;
  const lengths = ctx.lengths;
  const ask = askFor(scene.targetWords, lengths);
  const groups = context.beats ? beatGroups(context.beats) : [{ from: 0, to: 0, words: scene.targetWords }];
  let text = "";
  let fitted = prefix;
  let sent: Messages | undefined;
  for (const group of groups) {
    const words = Math.round((group.words / scene.targetWords) * ask);
    const opts = {
      ...call(groups.length > 1 ? "scene-part" : "scene"),
      // The token budget is sized to the words wanted, not to the larger ask a short-writing model
      // gets: an answer that runs on past its length is cut near the target instead of far beyond it.
      expectedWords: group.words,
      onWords: writing && ((n: number) => writing(scene.number, countWords(text) + n)),
    };
    const part: DraftPart = {
      ask: words,
      ...(context.beats ? { beats: { ...group, scale: ask / scene.targetWords } } : {}),
      ...(text ? { soFar: text } : {}),
    };
    // A scene written in one call may be the next turn of the previous scene's conversation.
    const candidates =
      groups.length === 1
        ? conversationThenShapes(prefix, context, part)
        : draftPrompts(prefix, context, part);
    const prompt = ctx.llm.firstThatFits(candidates, opts);
    // An expansion opens with the same prefix as the draft: the cached one, or the one that fitted.
    fitted = String(prompt[0]!.content);
    sent = groups.length === 1 ? prompt : undefined;
    const { value } = await ctx.llm.prose(prompt, opts);
    recordLength(lengths, words, countWords(value));
    text = text ? `${text}\n\n${value}` : value;
  }
  for (let i = 0; i < MAX_EXPANSIONS && countWords(text) < ACCEPTED_SHARE * scene.targetWords; i++) {
    const wanted = askFor(scene.targetWords, lengths);
    const { value: expanded } = await ctx.llm.prose(expansionPrompt(fitted, context, text, wanted), {
      ...call("expand"),
      expectedWords: scene.targetWords,
      onWords: writing && ((n: number) => writing(scene.number, n)),
    });
    recordLength(lengths, wanted, countWords(expanded));
    if (countWords(expanded) > countWords(text)) {
      text = expanded;
      sent = undefined;
    }
  }
  const words = countWords(text);
  if (words < MIN_SHARE_OF_TARGET * scene.targetWords) {
    throw new Error(`scene ${scene.number} is still too short (${words} of ${scene.targetWords} words)`);
  }
  return sent ? { text, sent } : { text };
}

export type SceneDigest = z.infer<typeof SceneDigestSchema>;

/** What a digest is told besides the scene: who its card puts in it, and the threads still open. */
export interface DigestLedger {
  onCard: string[];
  openThreads: string[];
}

/**
 * What a digest is shown: the ledger's part, and, when the scene's card and the story before it are
 * known, the scene under its card after that story — the opening the next scene's draft shares.
 */
export interface DigestInput extends DigestLedger {
  card?: SceneCard;
  storyBefore?: StoryBefore;
  /** The messages the scene was drafted with, when this process drafted it in one call. */
  drafted?: Messages;
}

/** What a written scene established: its summary for later prompts, its continuity facts, its state changes. */
export async function digestScene(
  ctx: StageContext,
  scene: { number: number; title: string },
  text: string,
  stage: string,
  input: DigestInput = { onCard: [], openThreads: [] },
  prefix?: string,
): Promise<SceneDigest> {
  const cast = need(ctx.plan, "characters").characters.map((c) => c.name);
  const sceneCount = ctx.plan.outline?.scenes.length ?? scene.number;
  const ask = (shown: boolean) =>
    [
      `Summarise scene ${scene.number}, "${scene.title}"${shown ? ", given above" : ""}, list the continuity facts it establishes, and record what it changed for each character in it and for the story's open threads.`,
      ...(prefix ? [`Read it as the book's continuity editor, not its writer. ${DIGEST_SYSTEM}`] : []),
      `Cast: ${cast.join(", ")}.`,
      ...(input.onCard.length > 0 ? [`Characters on this scene's card: ${input.onCard.join(", ")}.`] : []),
      input.openThreads.length > 0
        ? `Open threads so far (quote any this scene pays off exactly):\n${input.openThreads.map((t) => `- ${t}`).join("\n")}`
        : "No threads are open yet.",
      ...(shown ? [] : [`"""\n${text}\n"""`]),
    ].join("\n\n");
  const opts = { ...callFor(ctx, stage, "edit", "digest", scene.number), outputTokens: 800 };
  // Opened with the drafting prefix, a digest knows the cast and the world as the writer does, and the
  // provider's prompt cache serves that part. Shown the story and the scene under its card first, as
  // the next scene's draft is, it shares all of that with the draft: it is sent so whenever it fits.
  function* shapes(): Generator<Messages> {
    // Best, the drafting conversation itself, continued: all of it but the scene is cached already.
    if (input.drafted) {
      yield [...input.drafted, { role: "assistant", content: text }, { role: "user", content: ask(true) }];
    }
    if (prefix && input.card && input.storyBefore) {
      const opening = sceneAsWritten(prefix, input.storyBefore, input.card, text, sceneCount);
      yield [...opening, { role: "user", content: ask(true) }];
    }
    yield [
      { role: "system", content: prefix ?? DIGEST_SYSTEM },
      { role: "user", content: ask(false) },
    ];
  }
  const messages = ctx.llm.firstThatFits(shapes(), opts);
  const { value } = await ctx.llm.structured(SceneDigestSchema, "scene_digest", messages, opts);
  return value;
}

export async function digestChapter(
  ctx: StageContext,
  chapter: { number: number; title: string },
  scenes: { number: number; title: string; summary: string }[],
): Promise<string> {
  const { value } = await ctx.llm.structured(
    ChapterDigestSchema,
    "chapter_digest",
    [
      { role: "system", content: DIGEST_SYSTEM },
      {
        role: "user",
        content: [
          `Summarise chapter ${chapter.number}, "${chapter.title}", from its scene summaries.`,
          scenes.map((s) => `Scene ${s.number}, ${s.title}: ${s.summary}`).join("\n"),
        ].join("\n\n"),
      },
    ],
    { ...callFor(ctx, "drafting", "edit", "chapter-digest", scenes.at(-1)?.number), outputTokens: 500 },
  );
  return value.summary;
}

const DIGEST_SYSTEM = "You are a meticulous continuity editor. Answer only with JSON.";

/** A loop of scene drafts: the writing, the digests and the cached prefix are the same for every one. */
export function sceneLoop<const Id extends string>(id: Id, label: string, scenes: "every" | "requested") {
  return defineStage({
    id,
    label,
    kind: "scenes",
    needs: MANUSCRIPT_NEEDS,
    scenes,
    prefix: stablePrefix,
    draft: draftScene,
    planScenes: (ctx, prefix, cards) => planScenes(ctx, id, [prefix], cards),
    digest: (ctx, scene, text, ledger, prefix) => digestScene(ctx, scene, text, id, ledger, prefix),
    digestChapter,
  });
}

/** Stage 6 — every scene in order, each saved the moment it is written. */
export const sceneDrafting = sceneLoop("drafting", "Scene Drafting", "every");

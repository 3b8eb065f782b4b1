import { z } from "zod";
import { findNameVariants } from "../src/text/names";
import { defineStage, MANUSCRIPT_NEEDS, type RevisionRun } from "./definition";
import { digestScene } from "./draft";
import { type EditOutcome, editProposal, editScene, type RevisionScene } from "./rewrite";
import { callFor, MAX_SCENES, need, type StageContext } from "./types";

/** Stage 8 — Continuity Audit: contradictions across the book, then fixes only where they are. */
export const AuditSchema = z.object({
  issues: z
    .array(
      z.object({
        scene: z
          .number()
          .int()
          .min(1)
          .max(MAX_SCENES)
          .describe("the scene that contradicts what was established earlier"),
        problem: z.string(),
        fix: z.string(),
      }),
    )
    .max(12),
});

export interface ContinuityIssue {
  scene: number;
  problem: string;
  fix: string;
  kind: "contradiction" | "name";
}

/** Chapters audited together: large enough to see a contradiction, small enough to stay precise. */
export const AUDIT_WINDOW_CHAPTERS = 3;

export interface AuditWindow {
  chapters: number[];
  scenes: { number: number; title: string; summary: string; facts: string[] }[];
  /** Facts established before the window, so a contradiction of an early fact is still seen. */
  earlierFacts: string[];
}

export async function auditWindow(ctx: StageContext, window: AuditWindow): Promise<ContinuityIssue[]> {
  const numbers = new Set(window.scenes.map((s) => s.number));
  const { value } = await ctx.llm.structured(
    AuditSchema,
    "continuity_audit",
    [
      { role: "system", content: "You are a meticulous continuity editor. Answer only with JSON." },
      {
        role: "user",
        content: [
          `Audit chapters ${window.chapters.join(", ")} for continuity errors: contradicted facts, impossible timing, objects or injuries that appear or vanish, characters who know what they cannot know.`,
          window.earlierFacts.length > 0
            ? `Established before these chapters:\n${window.earlierFacts.map((f) => `- ${f}`).join("\n")}`
            : "",
          window.scenes
            .map(
              (s) =>
                `Scene ${s.number}, ${s.title}: ${s.summary}\nFacts: ${s.facts.join("; ") || "none recorded"}`,
            )
            .join("\n\n"),
          "List only real contradictions, each with the scene to fix and how. An empty list is a good answer.",
        ]
          .filter(Boolean)
          .join("\n\n"),
      },
    ],
    { ...callFor(ctx, "continuity", "edit", "audit"), outputTokens: 2_000 },
  );
  return value.issues
    .filter((i) => numbers.has(i.scene))
    .map((i) => ({ ...i, kind: "contradiction" as const }));
}

/** Misspelled cast names, found without a model: `Marra` for `Mara Quill`. */
export function nameIssues(scene: RevisionScene, cast: string[]): ContinuityIssue[] {
  return findNameVariants(scene.text, cast).map((v) => ({
    scene: scene.number,
    problem: `"${v.variant}" is a misspelling of ${v.canonical} (${v.count}×)`,
    fix: `replace "${v.variant}" with "${v.canonical}"`,
    kind: "name" as const,
  }));
}

/** Names are corrected in place, word by word; no rewrite is needed for a spelling. */
export function correctNames(text: string, cast: string[]): string {
  let corrected = text;
  for (const v of findNameVariants(text, cast)) {
    corrected = corrected.replace(new RegExp(`\\b${escapeRegExp(v.variant)}\\b`, "g"), v.canonical);
  }
  return corrected;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function fixContinuity(
  ctx: StageContext,
  prefix: string,
  scene: RevisionScene,
  issues: ContinuityIssue[],
): Promise<EditOutcome> {
  need(ctx.plan, "characters");
  return editScene(
    ctx,
    prefix,
    scene,
    "continuity",
    "fix these continuity errors and change nothing else",
    issues.map((i) => `${i.problem} Fix: ${i.fix}`),
  );
}

/** Earlier facts an audit window is shown at most. */
const EARLIER_FACTS = 60;

/**
 * The facts established before a window that concern what is in it: those naming a character of the
 * window's cards or the cast members its text mentions, or one of its places — the latest first kept.
 */
export function factsAbout(window: RevisionScene[], earlier: string[], cast: string[]): string[] {
  const inWindow = window
    .map((s) => `${s.text} ${s.card.pov} ${s.card.characters.join(" ")}`)
    .join(" ")
    .toLowerCase();
  const names = [
    ...window.flatMap((s) => [s.card.pov, ...s.card.characters]),
    ...cast.filter((name) => inWindow.includes(name.split(/\s+/)[0]!.toLowerCase())),
  ];
  const words = (texts: string[], least: number) =>
    texts.flatMap((x) => x.toLowerCase().match(new RegExp(`\\p{L}{${least},}`, "gu")) ?? []);
  // Names are telling from three letters (Ada); places from four, common words aside.
  const keys = new Set(
    [
      ...words(names, 3),
      ...words(
        window.map((s) => s.card.place),
        4,
      ),
    ].filter((k) => !COMMON.has(k)),
  );
  return earlier
    .filter((fact) => words([fact], 3).some((w) => keys.has(w) || keys.has(w.replace(/[’']s$/, ""))))
    .slice(-EARLIER_FACTS);
}

const COMMON = new Set([
  "with",
  "from",
  "that",
  "this",
  "they",
  "their",
  "there",
  "then",
  "than",
  "into",
  "over",
]);

/** Where the whole audit is stored before any fix, and each window's findings as they arrive. */
export const AUDIT_KEY = "continuity_audit";

/**
 * The audit is stored before any fix, so a resumed stage fixes what was found rather than auditing
 * again; each window's findings are stored as they arrive, so a failed window is the only one asked again.
 */
async function auditBook(run: RevisionRun): Promise<ContinuityIssue[]> {
  const stored = await run.recall<{ issues: ContinuityIssue[] }>(AUDIT_KEY);
  if (stored) return stored.issues;
  const cast = need(run.ctx.plan, "characters").characters.map((c) => c.name);
  const all = await run.scenes();
  const digests = await run.digests();
  const chapters = [...new Set(all.map((s) => s.chapter))].sort((a, b) => a - b);
  const windows: number[][] = [];
  for (let i = 0; i < chapters.length; i += AUDIT_WINDOW_CHAPTERS) {
    windows.push(chapters.slice(i, i + AUDIT_WINDOW_CHAPTERS));
  }
  const found = await run.bounded(windows, async (window) => {
    const key = `${AUDIT_KEY}.chapters-${window.join("-")}`;
    const done = await run.recall<{ issues: ContinuityIssue[] }>(key);
    if (done) return done.issues;
    const issues = await auditWindow(run.ctx, {
      chapters: window,
      earlierFacts: factsAbout(
        all.filter((s) => window.includes(s.chapter)),
        all.filter((s) => s.chapter < window[0]!).flatMap((s) => digests.get(s.number)?.facts ?? []),
        cast,
      ),
      scenes: all
        .filter((s) => window.includes(s.chapter))
        .map((s) => ({
          number: s.number,
          title: s.title,
          summary: digests.get(s.number)?.summary ?? s.card.summary,
          facts: digests.get(s.number)?.facts ?? [],
        })),
    });
    await run.remember(key, { issues });
    return issues;
  });
  const issues = [...found.flat(), ...all.flatMap((s) => nameIssues(s, cast))];
  await run.remember(AUDIT_KEY, { issues });
  return issues;
}

export const continuityAudit = defineStage({
  id: "continuity",
  label: "Continuity Audit",
  kind: "revision",
  needs: MANUSCRIPT_NEEDS,
  work: async (run) => {
    // The audit reads what stands: scenes rewritten since drafting are digested again first.
    if (!(await run.recall(AUDIT_KEY))) {
      await run.refreshDigests((scene, ledger) =>
        digestScene(run.ctx, scene, scene.text, "continuity", ledger, run.prefix),
      );
    }
    const issues = await auditBook(run);
    const cast = need(run.ctx.plan, "characters").characters.map((c) => c.name);
    const byScene = new Map<number, ContinuityIssue[]>();
    for (const issue of issues) byScene.set(issue.scene, [...(byScene.get(issue.scene) ?? []), issue]);
    await run.reviseEach(
      run.stage,
      (s) => byScene.has(s.number),
      async (s) => {
        const mine = byScene.get(s.number) ?? [];
        const named = { ...s, text: correctNames(s.text, cast) };
        const contradictions = mine.filter((i) => i.kind === "contradiction");
        const detail = { issues: mine.map((i) => i.problem) };
        if (contradictions.length === 0)
          return named.text === s.text ? { unchanged: true, detail } : { text: named.text, detail };
        const outcome = await fixContinuity(run.ctx, run.prefix, named, contradictions);
        // Names put right in code stand even when no edit of the model's could be applied.
        if (outcome.text === null && named.text !== s.text)
          return editProposal({ ...outcome, text: named.text }, detail);
        return editProposal(outcome, detail);
      },
    );
  },
});

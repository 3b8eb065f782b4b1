import { and, asc, eq, lt } from "drizzle-orm";
import type { Db, Tx } from "../../db/client";
import { storyState } from "../../db/schema";
import type { CharacterStanding, Standing } from "../../stages/definition";
import type { CharacterChange, DigestLedger, SceneDigest } from "../../stages/draft";
import type { SceneCard } from "../../stages/outline";

/**
 * The story-state ledger: each digest's state changes stored as rows of its scene, and the state as of
 * any scene rebuilt from the rows of the scenes before it. A scene digested again (a redraft) replaces
 * its rows; a scene whose text is replaced without a digest (a rollback) loses them, so the ledger only
 * ever tells what the scenes that stand say.
 */

/** Replaces the scene's rows with what its digest recorded. */
export async function writeLedger(
  tx: Tx,
  projectId: number,
  sceneNumber: number,
  digest: SceneDigest,
): Promise<void> {
  await clearLedger(tx, projectId, sceneNumber);
  const rows = [
    ...(digest.characters ?? []).map((c) => ({ kind: "character", entity: c.name.trim(), data: c })),
    ...(digest.threadsOpened ?? []).map((t) => ({ kind: "thread_opened", entity: t.trim(), data: null })),
    ...(digest.threadsClosed ?? []).map((t) => ({ kind: "thread_closed", entity: t.trim(), data: null })),
  ].filter((r) => r.entity !== "");
  if (rows.length === 0) return;
  await tx.insert(storyState).values(rows.map((r) => ({ projectId, sceneNumber, ...r })));
}

export async function clearLedger(tx: Tx, projectId: number, sceneNumber: number): Promise<void> {
  await tx
    .delete(storyState)
    .where(and(eq(storyState.projectId, projectId), eq(storyState.sceneNumber, sceneNumber)));
}

/** Open threads a drafting prompt shows at most: the latest that its card touches. */
const THREADS_SHOWN = 6;

/** Knowledge, confidences and relationship moves kept per character: the latest few. */
const KEPT = { knows: 6, told: 4, relationships: 4 };

/** Every character and open thread as the scenes before `sceneNumber` left them. */
export async function stateBefore(
  db: Db,
  projectId: number,
  sceneNumber: number,
): Promise<{ characters: Map<string, CharacterStanding>; openThreads: string[] }> {
  const rows = await db
    .select()
    .from(storyState)
    .where(and(eq(storyState.projectId, projectId), lt(storyState.sceneNumber, sceneNumber)))
    .orderBy(asc(storyState.sceneNumber), asc(storyState.id));
  const characters = new Map<string, CharacterStanding>();
  const open = new Map<string, string>();
  for (const row of rows) {
    if (row.kind === "thread_opened") open.set(key(row.entity), row.entity);
    else if (row.kind === "thread_closed") open.delete(key(row.entity));
    else if (row.kind === "character") apply(characters, row.data as CharacterChange);
  }
  return { characters, openThreads: [...open.values()] };
}

function apply(characters: Map<string, CharacterStanding>, change: CharacterChange): void {
  const name = change.name.trim();
  const known = [...characters.values()].find((c) => sameCharacter(c.name, name));
  const now = known ?? {
    name,
    location: "",
    condition: "",
    knows: [],
    told: [],
    holds: [],
    relationships: [],
  };
  if (change.location.trim()) now.location = change.location.trim();
  if (change.condition.trim()) now.condition = change.condition.trim();
  if (change.holds.length > 0) now.holds = change.holds;
  now.knows = [...now.knows, ...change.learned].slice(-KEPT.knows);
  now.told = [...now.told, ...change.told].slice(-KEPT.told);
  now.relationships = [...now.relationships, ...change.relationships].slice(-KEPT.relationships);
  characters.set(key(now.name), now);
}

/**
 * The standing a scene's drafting prompt carries, chosen by entity: the characters on its card (and its
 * POV), anyone else last seen at its place, and the open threads that name one of them, its place, or
 * share a telling word with its card.
 */
export async function standingFor(db: Db, projectId: number, card: SceneCard): Promise<Standing | undefined> {
  const { characters, openThreads } = await stateBefore(db, projectId, card.number);
  if (characters.size === 0 && openThreads.length === 0) return undefined;
  const names = [card.pov, ...card.characters];
  const onCard = [...characters.values()].filter((c) => names.some((n) => sameCharacter(c.name, n)));
  const place = key(card.place);
  const alsoHere = [...characters.values()]
    .filter((c) => !onCard.includes(c) && c.location && samePlace(key(c.location), place))
    .map((c) => c.name);
  const threads = threadsTouching(card, openThreads).slice(-THREADS_SHOWN);
  return { characters: onCard, alsoHere, threads };
}

/** Open threads that name one of the card's people or its place, or share a telling word with it. */
function threadsTouching(card: SceneCard, openThreads: string[]): string[] {
  const cardWords = tellingWords(
    [card.goal, card.conflict, card.outcome, card.summary, card.place].join(" "),
  );
  const nameWords = new Set([card.pov, ...card.characters].flatMap((n) => tellingWords(n)));
  return openThreads.filter((t) => tellingWords(t).some((w) => nameWords.has(w) || cardWords.includes(w)));
}

/** The newest open threads a digest is shown besides those its card touches. */
const RECENT_THREADS = 4;

/**
 * What a digest is told: who the card puts in the scene, and the open threads it could pay off — those
 * its card touches and the newest few, in the order they were opened, not every thread of the book.
 */
export async function digestLedgerFor(
  db: Db,
  projectId: number,
  card: SceneCard | undefined,
): Promise<DigestLedger> {
  if (!card) return { onCard: [], openThreads: [] };
  const open = (await stateBefore(db, projectId, card.number)).openThreads;
  const shown = new Set([
    ...threadsTouching(card, open).slice(-THREADS_SHOWN),
    ...open.slice(-RECENT_THREADS),
  ]);
  return {
    onCard: [...new Set([card.pov, ...card.characters])],
    openThreads: open.filter((t) => shown.has(t)),
  };
}

const key = (text: string) => text.trim().toLowerCase();

/** "Mara" on a card is "Mara Quill" in the ledger: a full name, or the first name of it. */
function sameCharacter(a: string, b: string): boolean {
  const [x, y] = [key(a), key(b)];
  if (!x || !y) return false;
  return x === y || x.split(/\s+/)[0] === y || y.split(/\s+/)[0] === x;
}

function samePlace(location: string, place: string): boolean {
  return !!location && !!place && (location.includes(place) || place.includes(location));
}

const STOP = new Set(
  "about after again against their there these those which while where would could should other every never being before under".split(
    " ",
  ),
);

/** Lower-cased words of five letters or more that are not common function words. */
function tellingWords(text: string): string[] {
  return (text.toLowerCase().match(/\p{L}{5,}/gu) ?? []).filter((w) => !STOP.has(w));
}

import { afterEach, describe, expect, it } from "vitest";
import { startWorld, type World } from "./helpers/discord";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const NOVELS = 50;

/** The most `at` times falling within any one second. */
function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= 1000) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

/** Fifty novels in one server at once: progress for all of them, and never Discord's global limit. */
describe("Discord: a busy server", () => {
  it("keeps fifty novels' progress within its edit budget and never meets the global limit", async () => {
    world = await startWorld({ llm: { seed: 93, latencyMs: 5 }, env: { FOLIO_LLM_CONCURRENCY: "8" } });
    const w = world;
    for (let k = 0; k < NOVELS; k++) {
      const author = w.discord.addMember({ username: `writer${k}` });
      const start = await w.discord.sendCommand({
        user: author.id,
        command: "novel",
        subcommand: "start",
        options: {
          premise: `Writer ${k}: a bell-ringer counts the strokes the tower rings when nobody pulls the rope.`,
          scenes: 3,
          words: 2400,
          auto_approve: true,
        },
      });
      await start.waitForAck();
    }
    const done = () =>
      (
        w.bot.engine.db.$client.prepare("select count(*) n from projects where status = 'done'").get() as {
          n: number;
        }
      ).n;
    await w.discord.waitFor(() => done() === NOVELS, 240_000);
    expect(w.discord.stats().globalLimited).toBe(0);
    // Progress edits, every project's together, stay within the bot's budget in every second.
    const edits = w.discord.calls.filter(
      (c) => c.method === "PATCH" && /^\/channels\/\d+\/messages\/\d+$/.test(c.path),
    );
    expect(edits.length).toBeGreaterThan(NOVELS);
    expect(busiestSecond(edits.map((c) => c.at))).toBeLessThanOrEqual(20);
    // Every book was delivered in its thread.
    const delivered = w.discord
      .threads()
      .filter((t) =>
        w.discord.messages(t.id).some((m) => m.attachments.some((a) => a.filename.endsWith(".docx"))),
      );
    expect(delivered).toHaveLength(NOVELS);
  }, 300_000);
});

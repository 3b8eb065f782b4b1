import { afterEach, describe, expect, it } from "vitest";
import type { StoredMessage } from "./fakes/discord-server";
import { startWorld, titleOf, type World } from "./helpers/discord";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const AUTHORS = 8;

/** Eight authors start at once against two model slots: each one is told where they stand while they wait. */
describe("Discord: an honest queue", () => {
  it("shows queued authors their place in the thread, then the stage once it runs", async () => {
    world = await startWorld({ llm: { seed: 91, latencyMs: 400 }, env: { FOLIO_LLM_CONCURRENCY: "2" } });
    const w = world;
    const authors = Array.from({ length: AUTHORS }, (_, k) =>
      w.discord.addMember({ username: `author${k}` }),
    );
    const starts = await Promise.all(
      authors.map((a, k) =>
        w.discord.sendCommand({
          user: a.id,
          command: "novel",
          subcommand: "start",
          options: {
            premise: `Author ${k}: a lamplighter's apprentice finds one street that stays dark whatever she does.`,
            scenes: 3,
            words: 2400,
            auto_approve: true,
          },
        }),
      ),
    );
    await Promise.all(starts.map((s) => s.waitForAck()));
    const threads = await w.discord.waitFor(() => {
      const all = w.discord.threads();
      return all.length === AUTHORS ? all : undefined;
    }, 30_000);
    const concept = (m: StoredMessage) => titleOf(m).startsWith("✅ High Concept");
    await w.discord.waitFor(() => threads.every((t) => w.discord.messages(t.id).some(concept)), 120_000);
    // While an author waited, their thread said so, with their place (the progress message is edited
    // once the project runs, so what was said is read from what the bot sent).
    const said = (threadId: string) =>
      w.discord.calls
        .filter((c) => c.path.startsWith(`/channels/${threadId}/messages`))
        .map((c) => JSON.stringify(c.body));
    const queuedFirst = threads.filter((t) => {
      const bodies = said(t.id);
      const queued = bodies.findIndex((b) => /Queued — (\d+ novels? ahead|next in line)/.test(b));
      const conceptDone = bodies.findIndex((b) => b.includes("✅ High Concept"));
      return queued >= 0 && queued < conceptDone;
    });
    // Every author but the two the slots took at once was told before their first stage was done.
    expect(queuedFirst.length).toBeGreaterThanOrEqual(AUTHORS - 2);
    // The status of a waiting or running project says which.
    const status = await w.discord.sendCommand({
      user: authors[AUTHORS - 1]!.id,
      channelId: threads.at(-1)!.id,
      command: "novel",
      subcommand: "status",
    });
    await status.waitForAck();
    const card = JSON.stringify(status.responses.map((r) => r.body));
    expect(card).toMatch(/\*\*Now:\*\* [^"]+ — (running|Queued — )/);
  }, 180_000);
});

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Channel,
  type Client,
  DiscordAPIError,
  type Message,
  type MessageCreateOptions,
  type MessageEditOptions,
  RESTJSONErrorCodes,
  Routes,
} from "discord.js";

/** Pauses before each new try of a post that failed on the way, after discord.js's own retries. */
const POST_RETRY_MS = [1_000, 3_000, 9_000];

/** A thread that can take no messages: trying again will not help. */
class NotSendable extends Error {}

const newNonce = () => randomBytes(12).toString("hex");

/**
 * Posts and edits messages in project threads through discord.js's REST queue, which waits out 429s.
 * Knows nothing of projects: it speaks channel ids and message payloads.
 */
export class ThreadPoster {
  constructor(private readonly client: Client) {}

  /**
   * Posts a message with a nonce Discord enforces (the caller's, or a new one): when a post is stored
   * but its answer is lost (a 500 after the write) and the client sends it again, Discord hands back
   * the message it made rather than making a second one.
   */
  async send(threadId: string, payload: MessageCreateOptions): Promise<Message> {
    const channel = await this.channel(threadId);
    if (!channel?.isSendable()) throw new NotSendable(`channel ${threadId} cannot receive messages`);
    const message = await channel.send({
      nonce: newNonce(),
      ...payload,
      enforceNonce: true,
    });
    // An answer without a message (a proxy that lost its upstream) is no post: it is not recorded as one.
    if (!message.id) throw new Error(`Discord answered a post in ${threadId} without a message`);
    return message;
  }

  /**
   * Posts a message, trying again a few times, seconds apart, when it fails on the way (a 5xx or a
   * dropped connection that outlasted discord.js's own retries), under one nonce: a try whose answer was
   * lost after Discord stored it is not posted twice. What Discord refuses (a 4xx) is not tried again.
   */
  async sendPatiently(threadId: string, payload: MessageCreateOptions): Promise<Message> {
    const once = { nonce: newNonce(), ...payload };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.send(threadId, once);
      } catch (error) {
        const refused = error instanceof DiscordAPIError || error instanceof NotSendable;
        if (refused || attempt >= POST_RETRY_MS.length) throw error;
        await sleep(POST_RETRY_MS[attempt]);
      }
    }
  }

  /** Edits a message; "missing" when it was deleted (or never existed), so the caller can post anew. */
  async edit(
    threadId: string,
    messageId: string,
    payload: MessageEditOptions,
  ): Promise<"edited" | "missing"> {
    const channel = await this.channel(threadId);
    if (!channel?.isTextBased()) throw new Error(`channel ${threadId} has no messages`);
    try {
      await channel.messages.edit(messageId, payload);
      return "edited";
    } catch (error) {
      if (error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownMessage)
        return "missing";
      throw error;
    }
  }

  /**
   * Requests the bot may still send before its global window (discord.js's count, shared by every
   * request it makes) resets, when that is, and whether any request is being held until then.
   */
  headroom(): { left: number; resetInMs: number; held: boolean } {
    const rest = this.client.rest;
    const now = Date.now();
    const held = rest.globalDelay !== null;
    if (rest.globalReset <= now) return { left: rest.options.globalRequestsPerSecond, resetInMs: 0, held };
    return { left: rest.globalRemaining, resetInMs: rest.globalReset - now, held };
  }

  /**
   * A thread, from the cache or Discord. A process without a gateway connection (a worker) knows no
   * guilds until it asks: discord.js makes no thread of a guild it does not know, so the guild is
   * fetched first, once.
   */
  private async channel(threadId: string): Promise<Channel | null> {
    const channel = await this.client.channels.fetch(threadId);
    if (channel) return channel;
    const raw = (await this.client.rest.get(Routes.channel(threadId))) as { guild_id?: string };
    if (!raw.guild_id) return null;
    // Another post may have fetched the guild meanwhile.
    if (!this.client.guilds.cache.has(raw.guild_id)) await this.client.guilds.fetch(raw.guild_id);
    return this.client.channels.fetch(threadId, { force: true });
  }

  /** The guild's upload limit in bytes: 10 MiB, more for boosted servers. */
  async uploadLimit(threadId: string): Promise<number> {
    const channel = await this.channel(threadId);
    const tier = channel && "guild" in channel ? channel.guild.premiumTier : 0;
    return [10, 10, 50, 100][tier]! * 1024 * 1024;
  }
}

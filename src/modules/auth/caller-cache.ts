import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PreparedStatement, RedisService, type AuthUser } from '@app/common';
import { AppConfig } from '@app/config';
import { CALLER_CACHE } from './auth.constants.js';

/** The caller as the guard attaches it to the request: the user and the session of the token. */
export interface AuthCaller extends AuthUser {
  sessionId: string;
  createdAt: Date;
}

/** What changed: one session ended, or something about a user did (role, all sessions). */
export type Invalidation = { session: string } | { user: string };

/** On the wire: the change, and who to confirm it to (the sender's id and its sequence number). */
type Broadcast = Invalidation & { from?: string; seq?: number };

/** A broadcast waiting for its confirmations. `expected` is unknown until PUBLISH answers. */
interface Awaiting {
  acks: number;
  expected: number | null;
  done: () => void;
}

interface Entry {
  /** `null`: the session is revoked or gone, or the user is. Both are final, so it is cached too. */
  caller: AuthCaller | null;
  userId: string;
  expiresAt: number;
}

interface CallerRow {
  id: string;
  email: string;
  name: string | null;
  role: AuthUser['role'];
  created_at: Date;
  active: boolean;
}

/** A primary-key lookup: safe as a prepared statement (its plan cannot go stale). */
const FIND_CALLER = new PreparedStatement<CallerRow>(
  `SELECT u.id, u.email, u.name, u.role, u.created_at, s.revoked_at IS NULL AS active
     FROM auth_sessions s JOIN users u ON u.id = s.user_id
    WHERE s.id = $1`,
);

/**
 * The caller behind a session, cached in this process so an authenticated request reads no
 * database. Correctness rests on invalidation, not on the TTL:
 *
 * - Every code path that changes a user's role or ends a session calls `invalidate()` after its
 *   commit: applied here at once, and published on one Redis channel that every API process
 *   listens to on its own subscriber connection. Each listener applies it, then confirms on the
 *   sender's own ack channel; `invalidate()` resolves once every listener PUBLISH reached has
 *   confirmed (or after CALLER_CACHE.ackTimeoutMs), so when the change's HTTP answer goes out,
 *   no other process can still serve the old entry. (Only knowing the message is on its way is
 *   not enough: a loaded process can read the client's next request before the message.)
 * - Entries are trusted only while that subscription is up. When the connection drops, the
 *   cache is emptied and every request reads PostgreSQL until the subscription is confirmed
 *   again, so a message missed meanwhile cannot leave a stale entry.
 * - A read that raced an invalidation is not stored (an epoch counter, bumped by every
 *   invalidation and every reconnect, must be unchanged when the row comes back).
 * - Entries live CALLER_CACHE.ttlMs at most, and at most CALLER_CACHE.maxEntries are kept.
 */
@Injectable()
export class CallerCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CallerCache.name);
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<AuthCaller | null>>();
  private readonly channel: string;
  /** This process's id, and the channel listeners confirm its broadcasts on. */
  private readonly id = randomUUID();
  private readonly ackChannel: string;
  private readonly awaiting = new Map<number, Awaiting>();
  private seq = 0;
  private epoch = 0;
  private live = false;
  private closing = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {
    this.channel = redis.key(...CALLER_CACHE.channel);
    this.ackChannel = this.ackChannelOf(this.id);
  }

  /** Worker processes authenticate nobody: only API processes listen. */
  onApplicationBootstrap(): void {
    if (this.config.role !== 'worker') this.listen();
  }

  onApplicationShutdown(): void {
    this.closing = true;
    this.live = false;
    this.stopAwaiting();
  }

  /** Whether entries are being served (the invalidation channel is subscribed). */
  get isLive(): boolean {
    return this.live;
  }

  /**
   * Hot path, every authenticated request: two Map lookups and a clock read when cached.
   * Never add I/O to the cached branch.
   */
  get(sessionId: string, userId: string): AuthCaller | null | Promise<AuthCaller | null> {
    const entry = this.entries.get(sessionId);
    if (entry && entry.userId === userId && entry.expiresAt > Date.now()) return entry.caller;
    return this.load(sessionId, userId);
  }

  /**
   * Applies a change here at once, broadcasts it to every other process and resolves once they
   * all confirmed they applied it. Call it after the change is committed. If Redis cannot take
   * the message, it is retried in the background until the TTL would have expired the entries
   * anyway; the change itself is already stored.
   */
  async invalidate(change: Invalidation): Promise<void> {
    this.apply(change);
    // Confirmations can only reach this process while its own subscription is up.
    const seq = ++this.seq;
    const confirmed = this.live ? this.awaitConfirmations(seq) : null;
    try {
      const receivers = await this.redis.client.publish(
        this.channel,
        JSON.stringify({ ...change, from: this.id, seq } satisfies Broadcast),
      );
      if (confirmed) {
        this.expect(seq, receivers);
        await confirmed;
      }
    } catch (error) {
      this.awaiting.get(seq)?.done();
      this.logger.error(
        `could not broadcast ${JSON.stringify(change)} (${(error as Error).message}); retrying`,
      );
      this.retryPublish(change, Date.now() + CALLER_CACHE.ttlMs);
    }
  }

  private load(sessionId: string, userId: string): Promise<AuthCaller | null> {
    const pending = this.loading.get(sessionId);
    if (pending) return pending;
    const epoch = this.epoch;
    const promise = FIND_CALLER.run(this.dataSource, [sessionId])
      .then(([row]) => {
        const caller: AuthCaller | null =
          row && row.active && row.id === userId
            ? Object.freeze({
                id: row.id,
                email: row.email,
                name: row.name,
                role: row.role,
                createdAt: row.created_at,
                sessionId,
              })
            : null;
        if (this.live && this.epoch === epoch) this.store(sessionId, userId, caller);
        return caller;
      })
      .finally(() => {
        if (this.loading.get(sessionId) === promise) this.loading.delete(sessionId);
      });
    this.loading.set(sessionId, promise);
    return promise;
  }

  private store(sessionId: string, userId: string, caller: AuthCaller | null): void {
    if (this.entries.size >= CALLER_CACHE.maxEntries) {
      // Maps iterate in insertion order: drop the oldest.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(sessionId, { caller, userId, expiresAt: Date.now() + CALLER_CACHE.ttlMs });
  }

  private apply(change: Invalidation): void {
    this.epoch++;
    this.loading.clear();
    if ('session' in change) {
      this.entries.delete(change.session);
      return;
    }
    // Rare (role changes, revoke-all): a scan of at most maxEntries is fine.
    for (const [sessionId, entry] of this.entries) {
      if (entry.userId === change.user) this.entries.delete(sessionId);
    }
  }

  /** Resolves when `seq` has all its confirmations, or after CALLER_CACHE.ackTimeoutMs. */
  private awaitConfirmations(seq: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        const entry = this.awaiting.get(seq);
        if (entry)
          this.logger.warn(
            `invalidation ${seq}: ${entry.acks} of ${entry.expected ?? '?'} processes confirmed ` +
              `within ${CALLER_CACHE.ackTimeoutMs} ms; answering anyway`,
          );
        done();
      }, CALLER_CACHE.ackTimeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.awaiting.delete(seq);
        resolve();
      };
      this.awaiting.set(seq, { acks: 0, expected: null, done });
    });
  }

  /** PUBLISH answered: this many subscribers got the broadcast (this process among them). */
  private expect(seq: number, receivers: number): void {
    const entry = this.awaiting.get(seq);
    if (!entry) return;
    entry.expected = receivers;
    if (entry.acks >= receivers) entry.done();
  }

  private confirm(seq: number): void {
    const entry = this.awaiting.get(seq);
    if (!entry) return; // timed out already
    entry.acks++;
    if (entry.expected !== null && entry.acks >= entry.expected) entry.done();
  }

  private stopAwaiting(): void {
    for (const entry of [...this.awaiting.values()]) entry.done();
  }

  private ackChannelOf(id: string): string {
    return this.redis.key(...CALLER_CACHE.channel, 'ack', id);
  }

  private reset(): void {
    this.epoch++;
    this.loading.clear();
    this.entries.clear();
  }

  private listen(): void {
    const connection = this.redis.connect('auth-invalidation', {
      maxRetriesPerRequest: null,
      // Resubscribed by hand on every `ready`, so `live` turns on only once Redis confirmed it.
      autoResubscribe: false,
    });
    connection.on('ready', () => {
      connection.subscribe(this.channel, this.ackChannel).then(
        () => {
          if (this.closing) return;
          this.reset();
          this.live = true;
        },
        (error: Error) =>
          this.logger.warn(`subscribe ${this.channel} failed: ${error.message}; not caching`),
      );
    });
    connection.on('close', () => {
      if (this.live) this.logger.warn('invalidation channel lost: not caching until it is back');
      this.live = false;
      this.reset();
      // No confirmation can arrive now: whoever waits for one answers without it.
      this.stopAwaiting();
    });
    connection.on('message', (channel: string, payload: string) => {
      if (channel === this.ackChannel) return this.confirm(Number(payload));
      if (channel !== this.channel) return;
      const change = parseBroadcast(payload);
      if (!change) return this.logger.warn(`ignoring a malformed invalidation on ${channel}`);
      if (change.from === this.id) return this.confirm(change.seq!); // applied when sent
      this.apply(change);
      if (change.from && change.seq !== undefined)
        this.redis.client
          .publish(this.ackChannelOf(change.from), String(change.seq))
          .catch(() => undefined); // the sender stops waiting after its timeout
    });
  }

  private retryPublish(change: Invalidation, until: number): void {
    const timer = setTimeout(() => {
      if (this.closing || Date.now() > until) return;
      this.redis.client.publish(this.channel, JSON.stringify(change)).then(
        () => this.logger.log(`broadcast ${JSON.stringify(change)} after a retry`),
        () => this.retryPublish(change, until),
      );
    }, CALLER_CACHE.publishRetryMs);
    timer.unref();
  }
}

function parseBroadcast(payload: string): Broadcast | null {
  try {
    const value = JSON.parse(payload) as Record<string, unknown>;
    const reply =
      typeof value.from === 'string' && Number.isSafeInteger(value.seq)
        ? { from: value.from, seq: value.seq as number }
        : {};
    if (typeof value.session === 'string') return { session: value.session, ...reply };
    if (typeof value.user === 'string') return { user: value.user, ...reply };
  } catch {
    /* malformed */
  }
  return null;
}

import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService } from './redis.service.js';

export interface FanoutListener<T> {
  message(message: T): void;
  /** The subscriber connection came back after a drop: messages may have been missed. */
  reconnected?(): void;
}

export interface FanoutSubscription {
  /** Settles when Redis confirmed the subscription; rejects if it could not be made. */
  ready: Promise<void>;
  unsubscribe(): void;
}

interface Channel {
  listeners: Set<FanoutListener<unknown>>;
  ready: Promise<void>;
}

/**
 * Live fan-out across processes over Redis pub/sub, for the SSE streams. One subscriber
 * connection per process, shared by every stream; a channel is SUBSCRIBEd while at least one
 * local listener wants it, and each message is parsed once per process, however many listeners.
 * Pub/sub is at-most-once: callers keep the source of truth elsewhere (PostgreSQL) and re-read
 * it on `reconnected`.
 */
@Injectable()
export class RedisFanout implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisFanout.name);
  private connection: Redis | null = null;
  private readonly channels = new Map<string, Channel>();
  private connectionReady: Promise<void> | null = null;

  constructor(private readonly redis: RedisService) {}

  /** `channel` is a full key (see RedisService.key); `message` is sent as JSON. */
  publish(channel: string, message: unknown): Promise<number> {
    return this.redis.client.publish(channel, JSON.stringify(message));
  }

  subscribe<T>(channel: string, listener: FanoutListener<T>): FanoutSubscription {
    const connection = this.subscriber();
    let entry = this.channels.get(channel);
    if (!entry) {
      // SUBSCRIBE only once the connection is ready: sent while ioredis is still setting it up
      // (SELECT of a non-zero db, CLIENT SETNAME, the ready check), a burst of SUBSCRIBEs makes
      // ioredis reject some with "Connection in subscriber mode" — every stream of a mass
      // reconnect on a fresh process would then wait for its 15 s re-read.
      const created: Channel = { listeners: new Set(), ready: Promise.resolve() };
      created.ready = this.whenReady(connection).then(async () => {
        // The last listener may have left meanwhile: then there is nothing to subscribe.
        if (this.channels.get(channel) === created) await connection.subscribe(channel);
      });
      entry = created;
      this.channels.set(channel, entry);
      // A failed SUBSCRIBE is the listeners' to handle (through `ready`); forget the channel so a later subscriber retries.
      created.ready.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel);
      });
    }
    const current = entry;
    current.listeners.add(listener);
    return {
      ready: current.ready,
      unsubscribe: () => {
        current.listeners.delete(listener);
        if (current.listeners.size === 0 && this.channels.get(channel) === current) {
          this.channels.delete(channel);
          connection.unsubscribe(channel).catch(() => undefined);
        }
      },
    };
  }

  /** Local listeners across all channels (to check that streams release theirs). */
  get listenerCount(): number {
    let count = 0;
    for (const entry of this.channels.values()) count += entry.listeners.size;
    return count;
  }

  onApplicationShutdown(): void {
    this.channels.clear();
    this.connectionReady = null;
    this.connection = null; // RedisService closes the connection itself
  }

  /** Resolves once the subscriber connection is ready (at once if it is); one waiter for every caller. */
  private whenReady(connection: Redis): Promise<void> {
    if (connection.status === 'ready') return Promise.resolve();
    return (this.connectionReady ??= new Promise<void>((resolve) =>
      connection.once('ready', () => {
        this.connectionReady = null;
        resolve();
      }),
    ));
  }

  private subscriber(): Redis {
    if (this.connection) return this.connection;
    const connection = this.redis.connect('fanout', { maxRetriesPerRequest: null });
    let connectedBefore = false;
    connection.on('ready', () => {
      if (connectedBefore) {
        for (const entry of this.channels.values())
          for (const listener of entry.listeners) listener.reconnected?.();
      }
      connectedBefore = true;
    });
    connection.on('message', (channel: string, payload: string) => {
      const entry = this.channels.get(channel);
      if (!entry) return;
      let message: unknown;
      try {
        message = JSON.parse(payload);
      } catch {
        this.logger.warn(`ignoring a malformed message on ${channel}`);
        return;
      }
      for (const listener of entry.listeners) listener.message(message);
    });
    this.connection = connection;
    return connection;
  }
}

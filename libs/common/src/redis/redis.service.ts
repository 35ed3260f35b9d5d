import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@app/config';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * The process's Redis connections. `client` serves commands; subscribers are created on
 * demand (a subscribed connection can run no other command). Every key and channel goes
 * through `key()`, so deployments and test runs sharing one Redis never collide.
 */
/** How long a QUIT may take at shutdown before the socket is dropped. */
const QUIT_TIMEOUT_MS = 1_000;

@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: Redis;
  private readonly connections = new Set<Redis>();

  constructor(private readonly config: AppConfig) {
    this.client = this.connect('commands');
  }

  /** `gm:quota:scraper:…` — the deployment prefix joined to the parts. */
  key(...parts: Array<string | number>): string {
    return [this.config.redis.keyPrefix, ...parts].join(':');
  }

  /** A new connection, closed with the app. `maxRetriesPerRequest: null` suits subscribers and Bull. */
  connect(name: string, options: RedisOptions = {}): Redis {
    const connection = new Redis(this.config.redis.url, {
      connectionName: `${this.config.redis.keyPrefix}:${name}`,
      // Fail commands fast while Redis is down so requests answer 503 instead of hanging.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      ...options,
    });
    connection.on('error', (error: Error) => this.logger.warn(`redis ${name}: ${error.message}`));
    this.connections.add(connection);
    connection.once('end', () => this.connections.delete(connection));
    return connection;
  }

  /**
   * QUIT where Redis answers, else drop the socket: a QUIT sent while the connection is down
   * waits in the offline queue for a reconnect that may never come, and shutdown with it.
   */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      [...this.connections].map(async (connection) => {
        if (connection.status === 'ready') {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            connection.quit().catch(() => undefined),
            new Promise((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS))),
          ]).finally(() => clearTimeout(timer));
        }
        if (connection.status !== 'end') connection.disconnect();
      }),
    );
  }
}

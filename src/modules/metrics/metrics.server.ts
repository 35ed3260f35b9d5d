import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SharedSecret } from '@app/common';
import { AppConfig } from '@app/config';
import { Metrics } from './metrics.service.js';

export const METRICS_PATH = '/metrics';

/**
 * `GET /metrics` on its own port (METRICS_PORT on METRICS_HOST), a tiny node:http server apart
 * from the API: not under /api, not behind the API's guards, hooks or load balancer, and present
 * in worker processes too, which have no HTTP app. With METRICS_TOKEN set it answers only
 * `Authorization: Bearer <token>` (a SharedSecret: constant time).
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private server: Server | null = null;
  private readonly expected: SharedSecret | null;

  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {
    this.expected = config.metrics.token
      ? new SharedSecret(`Bearer ${config.metrics.token}`)
      : null;
  }

  /** The bound port (0 before start or when metrics are off). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.metrics.enabled) return;
    const server = createServer((req, res) => void this.handle(req, res));
    const { host, port } = this.config.metrics;
    await new Promise<void>((resolve) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        // Metrics are worth a loud warning, not a dead process: Prometheus' `up` shows the gap.
        this.logger.error(`metrics server could not listen on ${host}:${port}: ${error.message}`);
        resolve();
      });
      server.listen(port, host, () => {
        this.server = server;
        this.logger.log(`metrics on http://${host}:${this.port}${METRICS_PATH}`);
        resolve();
      });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url?.split('?')[0];
    if (path !== METRICS_PATH) return end(res, 404, 'not found: GET /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return end(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    if (this.expected && !this.expected.matches(req.headers.authorization ?? ''))
      return end(res, 401, 'unauthorized\n', { 'www-authenticate': 'Bearer' });
    try {
      const { contentType, body } = await this.metrics.exposition();
      end(res, 200, req.method === 'HEAD' ? '' : body, { 'content-type': contentType });
    } catch (error) {
      this.logger.warn(`metrics collection failed: ${(error as Error).message}`);
      end(res, 500, 'metrics collection failed\n');
    }
  }
}

function end(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

import { Global, Module } from '@nestjs/common';
import { CrawlerMetrics } from './crawler-metrics.js';
import { MetricsServer } from './metrics.server.js';
import { Metrics } from './metrics.service.js';
import { QueueMetrics } from './queue-metrics.js';

/**
 * Prometheus metrics for every process role (api, worker, all): the instruments (`Metrics`,
 * injectable anywhere), the `/metrics` server on METRICS_PORT, queue and crawler collectors.
 * The HTTP histogram is wired by installHttpMetrics from app.setup (HTTP processes only).
 */
@Global()
@Module({
  providers: [Metrics, MetricsServer, QueueMetrics, CrawlerMetrics],
  exports: [Metrics],
})
export class MetricsModule {}

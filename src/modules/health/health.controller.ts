import { Controller, Get } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { Public, RedisService } from '@app/common';
import { AppConfig, type AppRole } from '@app/config';
import { HealthInfoService } from './health-info.service.js';

const CHECK_TIMEOUT_MS = 1500;

export class LivenessDto {
  @ApiProperty({ example: 'ok' })
  status!: 'ok';
  @ApiProperty({ enum: ['all', 'api', 'worker'] })
  role!: AppRole;
  @ApiProperty({ example: 3600 })
  uptime_seconds!: number;
}

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisService,
    private readonly info: HealthInfoService,
    private readonly config: AppConfig,
  ) {}

  /** Liveness: answers while the event loop does; never touches PostgreSQL, Redis or a provider. */
  @Public()
  @Get('live')
  @ApiOperation({
    summary: 'Liveness: the process answers (no dependency is checked)',
    description:
      "For an orchestrator's restart decision: a process that cannot reach PostgreSQL or Redis is not " +
      'helped by a restart, so this never depends on them. Readiness is `GET /api/health`.',
  })
  @ApiOkResponse({ type: LivenessDto })
  live(): LivenessDto {
    return { status: 'ok', role: this.config.role, uptime_seconds: Math.round(process.uptime()) };
  }

  @Public()
  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: database and Redis checks; 503 when either is down',
    description:
      'Also reports, as information that never fails the check: `queue_workers` (queue processors ' +
      'connected now, per queue, across all worker processes) and `scraper_provider` (whether the ' +
      'scraper provider answers; probed at most every 30 s).',
  })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down; details per check' })
  check(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.database.pingCheck('database').withTimeout(CHECK_TIMEOUT_MS),
      () =>
        this.indicators
          .check('redis')
          .attempt(async () => {
            if ((await this.redis.client.ping()) !== 'PONG')
              throw new Error('unexpected PING reply');
          })
          .withTimeout(CHECK_TIMEOUT_MS),
      async () =>
        this.indicators
          .check('queue_workers')
          .up({ ...(await this.withTimeout(this.info.queueWorkers())) } as Record<string, unknown>),
      async () =>
        this.indicators
          .check('scraper_provider')
          .up({ ...(await this.info.providerReachability()) }),
    ]);
  }

  private withTimeout<T extends object>(promise: Promise<T>): Promise<T | { error: string }> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      promise,
      new Promise<{ error: string }>((resolve) => {
        timer = setTimeout(() => resolve({ error: 'timed out' }), CHECK_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}

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

const PROVIDER_EXAMPLE = {
  provider: 'python-api',
  reachable: true,
  checked_at: '2026-12-02T22:00:00.000Z',
  detail: 'HTTP 200',
};
const READY_EXAMPLE = {
  database: { status: 'up' },
  redis: { status: 'up' },
  queue_workers: { status: 'up', crawler: 2, scraper: 2 },
  scraper_provider: { status: 'up', ...PROVIDER_EXAMPLE },
  scraper_providers: {
    status: 'up',
    'python-api': {
      ...PROVIDER_EXAMPLE,
      configured: true,
      roles: ['user', 'admin'],
      default: true,
      fallback: true,
    },
    'google-places': {
      ...PROVIDER_EXAMPLE,
      provider: 'google-places',
      detail: 'HTTP 404',
      configured: true,
      roles: ['premium'],
      default: false,
      fallback: false,
    },
  },
};
/** Terminus' readiness shape, with this service's information fields as the example. */
const READINESS_SCHEMA = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok'] },
    info: { type: 'object', additionalProperties: { type: 'object' }, example: READY_EXAMPLE },
    error: { type: 'object', additionalProperties: { type: 'object' }, example: {} },
    details: { type: 'object', additionalProperties: { type: 'object' }, example: READY_EXAMPLE },
  },
};

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
  // Above @HealthCheck(): applied after it, so this schema replaces Terminus' generic example.
  @ApiOkResponse({ description: 'Ready', schema: READINESS_SCHEMA })
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: database and Redis checks; 503 when either is down',
    description:
      'Also reports, as information that never fails the check: `queue_workers` (queue processors ' +
      'connected now, per queue, across all worker processes), `scraper_provider` (whether ' +
      'SCRAPER_PROVIDER answers) and `scraper_providers` (every provider routed to — ' +
      'SCRAPER_PROVIDER, SCRAPER_PROVIDER_<ROLE>, SCRAPER_PROVIDER_FALLBACK — keyed by name: ' +
      '`reachable`, `configured`, the `roles` routed to it, `default`, `fallback`). python-api is ' +
      'probed with its `GET /health`; google-places only by whether its host answers, never with ' +
      'a billed request. Probed at most every 30 s per provider.',
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
      async () =>
        this.indicators.check('scraper_providers').up({ ...(await this.info.routedProviders()) }),
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

import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  type MessageEvent,
  MethodNotAllowedException,
  Param,
  Post,
  Query,
  Req,
  Res,
  Sse,
  UseGuards,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiMethodNotAllowedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiQuery,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EMPTY, type Observable } from 'rxjs';
import {
  AcceptsQueryToken,
  ApiKeyAuth,
  ApiPaginatedResponse,
  Auth,
  CurrentUser,
  Public,
  Quota,
  type AuthUser,
  type Paginated,
} from '@app/common';
import { CrawlerJobAccessGuard, type CrawlerJobRequest } from './crawler-job-access.guard.js';
import { CrawlerWebhookGuard } from './crawler-webhook.guard.js';
import { CRAWLER_WEBHOOK_ROUTE, webhookAccepted } from './crawler-webhook.route.js';
import { SSE_MAX_PENDING_CHARS } from './crawler.constants.js';
import { CrawlerService } from './crawler.service.js';
import {
  CancelCrawlerResponseDto,
  CrawlerJobDto,
  CrawlerJobsQueryDto,
  CrawlerLogDto,
  CrawlerLogResponseDto,
  lastEventIdOf,
  StartCrawlerDto,
  StartCrawlerResponseDto,
} from './dto/crawler.dto.js';
import { CrawlerLogStream } from './log/crawler-log.stream.js';
import { Metrics } from '../metrics/metrics.service.js';
import { CrawlerLogWriter } from './log/crawler-log.writer.js';

@ApiTags('crawler')
@Controller('crawler')
export class CrawlerController {
  constructor(
    private readonly crawler: CrawlerService,
    private readonly writer: CrawlerLogWriter,
    private readonly logs: CrawlerLogStream,
    private readonly metrics: Metrics,
  ) {}

  @Auth()
  @Quota('crawler')
  @Post('start')
  @ApiOperation({ summary: 'Queue a domain-generation job: one RunPod request per keyword' })
  @ApiCreatedResponse({ type: StartCrawlerResponseDto })
  @ApiUnprocessableEntityResponse({ description: 'Invalid fields, each listed in message' })
  start(
    @Body() dto: StartCrawlerDto,
    @CurrentUser() caller: AuthUser,
  ): Promise<StartCrawlerResponseDto> {
    return this.crawler.start(dto, caller);
  }

  @Public()
  @ApiKeyAuth()
  @UseGuards(CrawlerWebhookGuard)
  // Hot path: valid requests are answered by the lean handler (crawler-webhook.route.ts), which
  // keeps this method's contract; this method answers what it passes on (bad key, bad body).
  @RouteConfig(CRAWLER_WEBHOOK_ROUTE)
  @Post('log')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'RunPod webhook: append log line(s) to a job',
    description:
      'Send `message` (one line) or `messages` (up to 500 lines, in order). Answered once the lines are durable. ' +
      '`Progress: N%` sets progress; `[SUMMARY] {json}` sets the summary and, once every keyword sent one, completes the job. ' +
      'Lines arriving shortly after the job ended are still stored.',
  })
  @ApiOkResponse({ type: CrawlerLogResponseDto })
  @ApiUnauthorizedResponse({ description: 'Missing or wrong X-API-Key' })
  @ApiNotFoundResponse({ description: 'Job <id> not found or already completed' })
  async log(@Body() dto: CrawlerLogDto): Promise<CrawlerLogResponseDto> {
    await this.writer.append(dto.job_id, dto.messages ?? [dto.message!]);
    return webhookAccepted(dto.job_id);
  }

  /** The earlier system's "endpoint alive" probe (`curl …/api/crawler/log`): 405 says it is there and takes POST. */
  @Public()
  @Get('log')
  @ApiOperation({
    summary:
      'Not a read endpoint: answers 405 with `Allow: POST` (the webhook is alive; send lines with POST)',
  })
  @ApiMethodNotAllowedResponse({
    description: 'Always; the webhook takes POST',
    headers: {
      Allow: { description: 'The allowed method', schema: { type: 'string', example: 'POST' } },
    },
  })
  logProbe(@Res({ passthrough: true }) reply: FastifyReply): never {
    void reply.header('Allow', 'POST');
    throw new MethodNotAllowedException(
      'The crawler webhook takes POST (X-API-Key, {job_id, message})',
    );
  }

  @Auth()
  @AcceptsQueryToken()
  @UseGuards(CrawlerJobAccessGuard)
  @Sse('logs/:job_id', { maxPendingDataLength: SSE_MAX_PENDING_CHARS })
  @ApiOperation({
    summary: "Server-Sent Events stream of a job's log",
    description:
      'Every line logged so far (or those after `Last-Event-ID`), then live lines, each a `message` event with its id; ' +
      'a `: keepalive` comment at least every 15 s; when the job ends, `event: end` with `{"status": …}` (held for CRAWLER_END_SETTLE_MS after completion, ' +
      "so the worker's closing lines arrive first), then the stream closes: call `close()` on `end`. `end` and `error` repeat the last line's id. " +
      'A reconnect to an ended job with nothing after its Last-Event-ID answers 204.',
  })
  @ApiProduces('text/event-stream')
  @ApiParam({ name: 'job_id', format: 'uuid' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this line id' })
  @ApiQuery({
    name: 'last_event_id',
    required: false,
    description: 'Same as the Last-Event-ID header',
  })
  @ApiOkResponse({ description: 'text/event-stream' })
  @ApiNoContentResponse({
    description:
      'A reconnect (Last-Event-ID given) to an ended job with no line after that id: nothing more will come, and 204 stops a browser EventSource from reconnecting',
  })
  @ApiNotFoundResponse({ description: 'Unknown job, or not yours' })
  stream(
    @Headers('last-event-id') lastEventIdHeader: string | undefined,
    @Query('last_event_id') lastEventIdQuery: string | undefined,
    @Req() req: FastifyRequest & CrawlerJobRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Observable<MessageEvent> {
    const stream = this.logs.open(
      req.crawlerJob!,
      lastEventIdOf(lastEventIdHeader, lastEventIdQuery),
      req.raw.socket,
    );
    if (stream) return stream.pipe(this.metrics.countDeliveredLines);
    reply.status(HttpStatus.NO_CONTENT);
    return EMPTY;
  }

  @Auth()
  @Get('status/:job_id')
  @ApiOperation({ summary: 'A job: status, progress, summary, counts and times' })
  @ApiOkResponse({ type: CrawlerJobDto })
  @ApiNotFoundResponse({ description: 'Unknown job, or not yours' })
  status(@Param('job_id') jobId: string, @CurrentUser() caller: AuthUser): Promise<CrawlerJobDto> {
    return this.crawler.status(jobId, caller);
  }

  @Auth()
  @Post('cancel/:job_id')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Cancel a queued or running job (serverless runs are cancelled on RunPod too)',
  })
  @ApiOkResponse({ type: CancelCrawlerResponseDto })
  @ApiNotFoundResponse({ description: 'Unknown job, or not yours' })
  @ApiConflictResponse({ description: 'The job already ended' })
  cancel(
    @Param('job_id') jobId: string,
    @CurrentUser() caller: AuthUser,
  ): Promise<CancelCrawlerResponseDto> {
    return this.crawler.cancel(jobId, caller);
  }

  @Auth()
  @Get('jobs')
  @ApiOperation({ summary: 'Your jobs (admins: everyone’s), newest first' })
  @ApiPaginatedResponse(CrawlerJobDto)
  jobs(
    @Query() query: CrawlerJobsQueryDto,
    @CurrentUser() caller: AuthUser,
  ): Promise<Paginated<CrawlerJobDto>> {
    return this.crawler.list(query, caller);
  }
}

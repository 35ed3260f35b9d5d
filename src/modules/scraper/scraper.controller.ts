import {
  Body,
  Controller,
  Get,
  HttpCode,
  Headers,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
  Sse,
  UseGuards,
} from '@nestjs/common';
import type { MessageEvent } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPaymentRequiredResponse,
  ApiProduces,
  ApiTags,
  ApiUnprocessableEntityResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EMPTY, type Observable } from 'rxjs';
import {
  AcceptsQueryToken,
  ApiPaginatedResponse,
  Auth,
  CurrentUser,
  Quota,
  type AuthUser,
  type Paginated,
} from '@app/common';
import { ScrapeBatchAcceptedDto } from './dto/scraper-batch.dto.js';
import {
  CreateScrapeJobDto,
  ListScraperJobsQueryDto,
  ScrapeJobAcceptedDto,
  ScrapeJobCachedDto,
  ScraperJobDto,
} from './dto/scraper.dto.js';
import { FINAL_SCRAPER_STATUSES } from './entities/scraper-job.entity.js';
import { ScraperJobAccessGuard, type ScraperJobRequest } from './scraper-job-access.guard.js';
import { ScraperBatchService } from './scraper-batch.service.js';
import { SCRAPER_END_EVENT_ID, scraperQuotaUnits } from './scraper.constants.js';
import { ScraperService } from './scraper.service.js';

const uuid = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.UNPROCESSABLE_ENTITY });

@ApiTags('scraper')
@Auth()
@Controller('scraper/jobs')
export class ScraperController {
  constructor(
    private readonly scraper: ScraperService,
    private readonly batches: ScraperBatchService,
  ) {}

  @Post()
  @Quota('scraper', scraperQuotaUnits)
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Scrape Google Maps places for a keyword in a location',
    description:
      'Never waits for the scrape: answers 202 with a queued job, or 200 with the result when the same ' +
      'question (keyword + location + kecamatan, ignoring case, accents and spacing) was answered in the last ' +
      'SCRAPER_CACHE_TTL_HOURS — the cached places are then stored in your list too. `refresh: true` skips the cache. ' +
      '`kecamatan` as a list of 1–50 different districts makes a batch: one job per district, answered 202 with ' +
      'the batch id and its jobs (follow it at /api/scraper/batches/{batch_id}); it counts one quota unit per ' +
      'district, all or nothing: 429 and nothing queued when fewer are left. The job goes to the provider ' +
      'configured for your role (SCRAPER_PROVIDER_<ROLE>).',
  })
  @ApiExtraModels(ScrapeJobAcceptedDto, ScrapeJobCachedDto, ScrapeBatchAcceptedDto)
  @ApiAcceptedResponse({
    schema: {
      oneOf: [
        { $ref: getSchemaPath(ScrapeJobAcceptedDto) },
        { $ref: getSchemaPath(ScrapeBatchAcceptedDto) },
      ],
    },
    description: 'Queued: one job, or a batch when `kecamatan` is a list',
  })
  @ApiOkResponse({
    schema: { $ref: getSchemaPath(ScrapeJobCachedDto) },
    description: 'Cache hit: done already',
  })
  @ApiPaymentRequiredResponse({
    description:
      'The monthly provider budget cannot pay for this search (its estimated maximum exceeds what is left); ' +
      '`message` says what is left and when the budget renews. `POST /api/scraper/estimate` tells beforehand.',
  })
  @ApiUnprocessableEntityResponse({
    description: 'Invalid body; `message` lists every bad field (and the areas a list holds twice)',
  })
  async create(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateScrapeJobDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ScrapeJobAcceptedDto | ScrapeJobCachedDto | ScrapeBatchAcceptedDto> {
    const { kecamatan, ...query } = dto;
    if (Array.isArray(kecamatan)) return this.batches.create(user, query, kecamatan);
    const answer = await this.scraper.create(user, { ...query, kecamatan });
    if (answer.status === 'completed') void reply.status(HttpStatus.OK);
    return answer;
  }

  @Get()
  @ApiOperation({ summary: 'Scrape jobs, newest first: your own (admins: everyone’s)' })
  @ApiPaginatedResponse(ScraperJobDto)
  list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListScraperJobsQueryDto,
  ): Promise<Paginated<ScraperJobDto>> {
    return this.scraper.list(user, query);
  }

  @Get(':job_id')
  @ApiOperation({ summary: 'A scrape job: status, progress, attempts, error, result' })
  @ApiOkResponse({ type: ScraperJobDto })
  @ApiNotFoundResponse({ description: 'No such job, or not yours' })
  async findOne(
    @CurrentUser() user: AuthUser,
    @Param('job_id', uuid) id: string,
  ): Promise<ScraperJobDto> {
    return ScraperJobDto.from(await this.scraper.findOne(user, id));
  }

  @Sse(':job_id/events')
  @AcceptsQueryToken()
  @UseGuards(ScraperJobAccessGuard)
  @ApiOperation({
    summary:
      'Server-Sent Events of a job: its current state, then `status` and `progress` events, then `end`',
    description:
      '`event: status` data `{job_id, status, progress, attempts_made, error, result}`; `event: progress` data ' +
      '`{job_id, progress}`; `event: end` (id `end`) data `{status, result, error}`, then the stream closes: call `close()` on `end`. ' +
      'A reconnect with Last-Event-ID `end` to a finished job answers 204.',
  })
  @ApiProduces('text/event-stream')
  @ApiNoContentResponse({
    description:
      'A reconnect after `end` (Last-Event-ID `end`) to a finished job: 204 stops a browser EventSource from reconnecting',
  })
  @ApiNotFoundResponse({ description: 'No such job, or not yours' })
  events(
    @Param('job_id') id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: ScraperJobRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Observable<MessageEvent> {
    if (
      lastEventId === SCRAPER_END_EVENT_ID &&
      FINAL_SCRAPER_STATUSES.has(req.scraperJob!.status)
    ) {
      reply.status(HttpStatus.NO_CONTENT);
      return EMPTY;
    }
    return this.scraper.events(id);
  }
}

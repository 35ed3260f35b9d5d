import {
  Controller,
  Get,
  Headers,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Query,
  Res,
  Sse,
  UseGuards,
} from '@nestjs/common';
import type { MessageEvent } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EMPTY, type Observable } from 'rxjs';
import {
  AcceptsQueryToken,
  ApiPaginatedResponse,
  Auth,
  CurrentUser,
  PageQueryDto,
  type AuthUser,
  type Paginated,
} from '@app/common';
import { ScraperBatchDto, ScraperBatchSummaryDto } from './dto/scraper-batch.dto.js';
import { ScraperBatchAccessGuard } from './scraper-batch-access.guard.js';
import { FINAL_BATCH_STATUSES } from './scraper-batch.progress.js';
import { ScraperBatchService } from './scraper-batch.service.js';
import { SCRAPER_END_EVENT_ID } from './scraper.constants.js';

const uuid = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.UNPROCESSABLE_ENTITY });

/** Batches: several kecamatan asked in one `POST /api/scraper/jobs` (created there). */
@ApiTags('scraper')
@Auth()
@Controller('scraper/batches')
export class ScraperBatchController {
  constructor(private readonly batches: ScraperBatchService) {}

  @Get()
  @ApiOperation({
    summary: 'Scrape batches, newest first, with their aggregate: yours (admins: everyone’s)',
  })
  @ApiPaginatedResponse(ScraperBatchSummaryDto)
  list(
    @CurrentUser() user: AuthUser,
    @Query() query: PageQueryDto,
  ): Promise<Paginated<ScraperBatchSummaryDto>> {
    return this.batches.list(user, query);
  }

  @Get(':batch_id')
  @ApiOperation({
    summary:
      'A batch: aggregate status and progress, jobs by status, places found / new, and every job with its result',
  })
  @ApiOkResponse({ type: ScraperBatchDto })
  @ApiNotFoundResponse({ description: 'No such batch, or not yours' })
  findOne(
    @CurrentUser() user: AuthUser,
    @Param('batch_id', uuid) id: string,
  ): Promise<ScraperBatchDto> {
    return this.batches.findOne(user, id);
  }

  @Sse(':batch_id/events')
  @AcceptsQueryToken()
  @UseGuards(ScraperBatchAccessGuard)
  @ApiOperation({
    summary:
      'Server-Sent Events of a whole batch: each job’s current `status`, then its jobs’ `status` and `progress` events, each followed by the `batch` aggregate, then `end`',
    description:
      '`event: status` / `event: progress`: as on a job’s stream (`job_id` says which); `event: batch` data ' +
      '`{batch_id, status, progress, areas, jobs_by_status, places: {found, new, duplicates}}` after every change; ' +
      '`event: end` (id `end`) the final aggregate once every job is completed or failed, then the stream closes. ' +
      'A reconnect with Last-Event-ID `end` to a finished batch answers 204.',
  })
  @ApiProduces('text/event-stream')
  @ApiNoContentResponse({
    description: 'A reconnect after `end` (Last-Event-ID `end`) to a finished batch',
  })
  @ApiNotFoundResponse({ description: 'No such batch, or not yours' })
  async events(
    @CurrentUser() user: AuthUser,
    @Param('batch_id') id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Observable<MessageEvent>> {
    if (
      lastEventId === SCRAPER_END_EVENT_ID &&
      FINAL_BATCH_STATUSES.has((await this.batches.findOne(user, id)).status)
    ) {
      reply.status(HttpStatus.NO_CONTENT);
      return EMPTY;
    }
    return this.batches.events(id);
  }
}

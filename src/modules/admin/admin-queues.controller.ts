import { Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { ADMIN_QUEUES } from './admin.constants.js';
import { ApiPaginatedResponse, Auth, PageQueryDto, type Paginated } from '@app/common';
import { AdminQueuesService } from './admin-queues.service.js';
import {
  FailedJobDto,
  QueuesOverviewDto,
  QueueSummaryDto,
  RemovedDto,
  RetriedDto,
  RetriedJobDto,
} from './dto/admin.dto.js';

@ApiTags('admin')
@Auth('admin')
@Controller('admin/queues')
@ApiParam({
  name: 'queue',
  enum: ADMIN_QUEUES,
  required: false,
  description: 'On the routes under /{queue}; 404 for any other name',
})
@ApiNotFoundResponse({ description: 'Unknown queue' })
export class AdminQueuesController {
  constructor(private readonly queues: AdminQueuesService) {}

  @Get()
  @ApiOperation({
    summary: 'Every queue: job counts per state, waiting jobs per priority, paused or not',
  })
  @ApiOkResponse({ type: QueuesOverviewDto })
  async overview(): Promise<QueuesOverviewDto> {
    return { queues: await this.queues.overview() };
  }

  @Get(':queue')
  @ApiOperation({ summary: 'One queue: job counts per state, waiting jobs per priority' })
  @ApiOkResponse({ type: QueueSummaryDto })
  summary(@Param('queue') queue: string): Promise<QueueSummaryDto> {
    return this.queues.summary(queue);
  }

  @Get(':queue/failed')
  @ApiOperation({ summary: 'Failed jobs, newest first, with the error of their last attempt' })
  @ApiPaginatedResponse(FailedJobDto)
  failed(
    @Param('queue') queue: string,
    @Query() page: PageQueryDto,
  ): Promise<Paginated<FailedJobDto>> {
    return this.queues.failed(queue, page);
  }

  @Post(':queue/failed/retry')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Retry every failed job (`queue:retry all`)' })
  @ApiOkResponse({ type: RetriedDto })
  retryAll(@Param('queue') queue: string): Promise<RetriedDto> {
    return this.queues.retryAll(queue);
  }

  @Delete(':queue/failed')
  @ApiOperation({ summary: 'Remove every failed job (`queue:flush`)' })
  @ApiOkResponse({ type: RemovedDto })
  removeFailed(@Param('queue') queue: string): Promise<RemovedDto> {
    return this.queues.removeFailed(queue);
  }

  @Post(':queue/jobs/:job_id/retry')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Retry one failed job (`queue:retry {id}`)' })
  @ApiOkResponse({ type: RetriedJobDto })
  @ApiNotFoundResponse({ description: 'No such job' })
  @ApiConflictResponse({ description: 'The job is not failed' })
  retry(@Param('queue') queue: string, @Param('job_id') jobId: string): Promise<RetriedJobDto> {
    return this.queues.retry(queue, jobId);
  }

  @Post(':queue/pause')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Pause the queue for every worker (active jobs finish; nothing new starts)',
  })
  @ApiOkResponse({ type: QueueSummaryDto })
  pause(@Param('queue') queue: string): Promise<QueueSummaryDto> {
    return this.queues.pause(queue);
  }

  @Post(':queue/resume')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Resume a paused queue' })
  @ApiOkResponse({ type: QueueSummaryDto })
  resume(@Param('queue') queue: string): Promise<QueueSummaryDto> {
    return this.queues.resume(queue);
  }
}

import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth } from '@app/common';
import { AdminStatsService } from './admin-stats.service.js';
import { AdminStatsDto } from './dto/admin.dto.js';

@ApiTags('admin')
@Auth('admin')
@Controller('admin/stats')
export class AdminStatsController {
  constructor(private readonly stats: AdminStatsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Users, jobs per status, places stored, cache hit rate over the last 24 h, provider spend today and this month',
  })
  @ApiOkResponse({ type: AdminStatsDto })
  get(): Promise<AdminStatsDto> {
    return this.stats.stats();
  }
}

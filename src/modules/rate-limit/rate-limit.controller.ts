import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, CurrentUser, type AuthUser } from '@app/common';
import { QuotaBucketDto, QuotaStatusDto } from './dto/quota-status.dto.js';
import { QuotaService } from './quota.service.js';

@ApiTags('rate-limit')
@Auth()
@Controller('rate-limit')
export class RateLimitController {
  constructor(private readonly quotas: QuotaService) {}

  @Get('status')
  @ApiOperation({ summary: "The caller's hourly quotas: limit, used, remaining, reset" })
  @ApiOkResponse({ type: QuotaStatusDto })
  async status(@CurrentUser() user: AuthUser): Promise<QuotaStatusDto> {
    const buckets = await this.quotas.status(user.id, user.role);
    return { role: user.role, buckets: buckets.map((state) => QuotaBucketDto.from(state)) };
  }
}

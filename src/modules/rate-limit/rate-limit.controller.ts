import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, CurrentUser, type AuthUser } from '@app/common';
import { BudgetDto } from '../spend/dto/spend.dto.js';
import { SpendService } from '../spend/spend.service.js';
import { QuotaBucketDto, QuotaStatusDto } from './dto/quota-status.dto.js';
import { QuotaService } from './quota.service.js';

@ApiTags('rate-limit')
@Auth()
@Controller('rate-limit')
export class RateLimitController {
  constructor(
    private readonly quotas: QuotaService,
    private readonly spend: SpendService,
  ) {}

  @Get('status')
  @ApiOperation({
    summary:
      "The caller's hourly quotas (limit, used, remaining, reset) and monthly provider budget (limit, spent, remaining, renewal)",
  })
  @ApiOkResponse({ type: QuotaStatusDto })
  async status(@CurrentUser() user: AuthUser): Promise<QuotaStatusDto> {
    const [buckets, budget] = await Promise.all([
      this.quotas.status(user.id, user.role),
      this.spend.budget(user.id),
    ]);
    return {
      role: user.role,
      buckets: buckets.map((state) => QuotaBucketDto.from(state)),
      spend: BudgetDto.from(budget),
    };
  }
}

import { Body, Controller, Param, ParseUUIDPipe, Put } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth } from '@app/common';
import { BudgetDto, SetBudgetDto } from './dto/spend.dto.js';
import { SpendService } from './spend.service.js';

@ApiTags('admin')
@Auth('admin')
@Controller('admin/users')
export class AdminBudgetController {
  constructor(private readonly spend: SpendService) {}

  @Put(':id/budget')
  @ApiOperation({
    summary: "Set one user's monthly provider budget (USD); null: back to the role's default",
    description:
      'Takes effect at once: the next job is admitted, and every further provider request reserved, ' +
      'against the new budget. Answers the user’s month: budget in force, spent, remaining, renewal.',
  })
  @ApiOkResponse({ type: BudgetDto })
  @ApiNotFoundResponse({ description: 'No such user' })
  async setBudget(
    @Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 422 })) id: string,
    @Body() dto: SetBudgetDto,
  ): Promise<BudgetDto> {
    return BudgetDto.from(await this.spend.setBudget(id, dto.monthly_budget_usd));
  }
}

import { Module } from '@nestjs/common';
import { AdminBudgetController } from './admin-budget.controller.js';
import { SpendService } from './spend.service.js';

/**
 * Provider spend: prices, the ledger of billed requests, monthly budgets per user and the
 * atomic reservation running jobs make before each billed request (docs/scraper.md#cost).
 */
@Module({
  controllers: [AdminBudgetController],
  providers: [SpendService],
  exports: [SpendService],
})
export class SpendModule {}

import { Module } from '@nestjs/common';
import { SpendModule } from '../spend/spend.module.js';
import { QuotaGuard } from './quota.guard.js';
import { QuotaService } from './quota.service.js';
import { RateLimitController } from './rate-limit.controller.js';

/** Per-role hourly quotas on costly actions, counted in Redis. Routes opt in with @Quota(bucket). */
@Module({
  imports: [SpendModule],
  controllers: [RateLimitController],
  providers: [QuotaService, QuotaGuard],
  exports: [QuotaService, QuotaGuard],
})
export class RateLimitModule {}

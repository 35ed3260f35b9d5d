import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { QUEUE_NAMES } from '@app/common';
import { SpendModule } from '../spend/spend.module.js';
import { AdminQueuesController } from './admin-queues.controller.js';
import { AdminQueuesService } from './admin-queues.service.js';
import { AdminStatsController } from './admin-stats.controller.js';
import { AdminStatsService } from './admin-stats.service.js';

/**
 * Admin queue operations (`/api/admin/queues`), statistics (`/api/admin/stats`) and, mounted
 * by `mountBullBoard`, Bull Board. The queues are registered by name here, so this works
 * whether or not the module that processes a queue is present in the build.
 */
@Module({
  imports: [
    BullModule.registerQueue({ name: QUEUE_NAMES.crawler }, { name: QUEUE_NAMES.scraper }),
    SpendModule,
  ],
  controllers: [AdminQueuesController, AdminStatsController],
  providers: [AdminQueuesService, AdminStatsService],
})
export class AdminModule {}

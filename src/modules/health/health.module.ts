import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthInfoService } from './health-info.service.js';
import { HealthController } from './health.controller.js';
import { RootController } from './root.controller.js';

@Module({
  imports: [TerminusModule.forRoot({ logger: false, gracefulShutdownTimeoutMs: 0 })],
  controllers: [HealthController, RootController],
  providers: [HealthInfoService],
})
export class HealthModule {}

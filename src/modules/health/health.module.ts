import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthInfoService } from './health-info.service.js';
import { HealthController } from './health.controller.js';

@Module({
  imports: [TerminusModule.forRoot({ logger: false, gracefulShutdownTimeoutMs: 0 })],
  controllers: [HealthController],
  providers: [HealthInfoService],
})
export class HealthModule {}

import { Injectable } from '@nestjs/common';
import type { AllowRequest, Meter } from '@app/google-maps';

/** Who a job's provider requests are made for. */
export interface GatedJob {
  jobId: string;
  userId: string;
}

/**
 * The seam between a job's billed requests and cost accounting: before every billed request the
 * area engine asks `allowRequest(sku)` (false: stop, the job ends `truncated`, reason `budget`),
 * and tells `meter` of each request it sends. Replace the provider to enforce budgets and
 * record spend; the default allows everything and records nothing.
 */
export abstract class ScraperRequestGate {
  abstract forJob(job: GatedJob): { allowRequest?: AllowRequest; meter?: Meter };
}

@Injectable()
export class AllowAllRequests extends ScraperRequestGate {
  forJob(): { allowRequest?: AllowRequest; meter?: Meter } {
    return {};
  }
}

import { Injectable } from '@nestjs/common';
import type { AllowRequest, Meter } from '@app/google-maps';
import { SpendService } from '../../spend/spend.service.js';

/** Who a job's provider requests are made for. */
export interface GatedJob {
  jobId: string;
  userId: string;
}

/**
 * The seam between a job's billed requests and cost accounting: before every billed request the
 * area engine asks `allowRequest(sku)` (false: stop, the job ends `truncated`, reason `budget`),
 * tells `meter` of each request it sends, and calls `settle` once when it stops (whatever the
 * outcome), so that what was billed is recorded.
 */
export abstract class ScraperRequestGate {
  abstract forJob(job: GatedJob): JobGate;
}

export interface JobGate {
  allowRequest?: AllowRequest;
  meter?: Meter;
  settle?: () => Promise<void>;
}

/**
 * The monthly budget: each billed request is reserved against the owner's month first (atomic
 * across processes: a running job stops at the budget, never over it); what was billed goes to
 * the ledger and the job's cost when the job settles.
 */
@Injectable()
export class BudgetRequestGate extends ScraperRequestGate {
  constructor(private readonly spend: SpendService) {
    super();
  }

  forJob(job: GatedJob): JobGate {
    const spend = this.spend.forJob(job);
    return {
      allowRequest: (sku) => spend.tryReserve(sku),
      meter: spend.meter,
      settle: () => spend.settle(),
    };
  }
}

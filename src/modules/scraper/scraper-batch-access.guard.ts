import {
  CanActivate,
  ExecutionContext,
  Injectable,
  UnprocessableEntityException,
} from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { AuthUser } from '@app/common';
import { ScraperBatchService } from './scraper-batch.service.js';

/**
 * For the batch events stream: the batch must exist and be the caller's (or the caller an
 * admin) BEFORE the stream opens — as ScraperJobAccessGuard does for a job's stream.
 */
@Injectable()
export class ScraperBatchAccessGuard implements CanActivate {
  constructor(private readonly batches: ScraperBatchService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context
      .switchToHttp()
      .getRequest<{ user: AuthUser; params: Record<string, string> }>();
    const id = req.params.batch_id;
    if (!id || !isUUID(id)) throw new UnprocessableEntityException(['batch_id must be a UUID']);
    await this.batches.findBatch(req.user, id);
    return true;
  }
}

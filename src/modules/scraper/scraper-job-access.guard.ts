import {
  CanActivate,
  ExecutionContext,
  Injectable,
  UnprocessableEntityException,
} from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { AuthUser } from '@app/common';
import type { ScraperJob } from './entities/scraper-job.entity.js';
import { ScraperService } from './scraper.service.js';

export type ScraperJobRequest = {
  user: AuthUser;
  params: Record<string, string>;
  /** The job the guard resolved (the caller's, or any for an admin). */
  scraperJob?: ScraperJob;
};

/**
 * For the events stream: the job must exist and be the caller's (or the caller an admin)
 * BEFORE the stream opens. A guard, not the handler: once an SSE handler runs, the 200 and
 * the event-stream headers are on their way, and a 404 could only arrive as an event.
 */
@Injectable()
export class ScraperJobAccessGuard implements CanActivate {
  constructor(private readonly scraper: ScraperService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ScraperJobRequest>();
    const id = req.params.job_id;
    if (!id || !isUUID(id)) throw new UnprocessableEntityException(['job_id must be a UUID']);
    req.scraperJob = await this.scraper.findOne(req.user, id);
    return true;
  }
}

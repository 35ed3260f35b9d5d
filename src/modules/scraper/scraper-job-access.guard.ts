import {
  CanActivate,
  ExecutionContext,
  Injectable,
  UnprocessableEntityException,
} from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { AuthUser } from '@app/common';
import { ScraperService } from './scraper.service.js';

/**
 * For the events stream: the job must exist and be the caller's (or the caller an admin)
 * BEFORE the stream opens. A guard, not the handler: once an SSE handler runs, the 200 and
 * the event-stream headers are on their way, and a 404 could only arrive as an event.
 */
@Injectable()
export class ScraperJobAccessGuard implements CanActivate {
  constructor(private readonly scraper: ScraperService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context
      .switchToHttp()
      .getRequest<{ user: AuthUser; params: Record<string, string> }>();
    const id = req.params.job_id;
    if (!id || !isUUID(id)) throw new UnprocessableEntityException(['job_id must be a UUID']);
    await this.scraper.findOne(req.user, id);
    return true;
  }
}

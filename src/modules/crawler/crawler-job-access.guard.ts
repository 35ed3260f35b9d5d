import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { AuthUser } from '@app/common';
import { CrawlerService } from './crawler.service.js';
import type { CrawlerJob } from './entities/crawler-job.entity.js';

export type CrawlerJobRequest = {
  params: { job_id?: string };
  user: AuthUser;
  crawlerJob?: CrawlerJob;
};

/**
 * For the SSE route: resolves the job (owner or admin, else 404) before the handler runs.
 * A guard, not a check in the handler: once an @Sse() handler runs, Nest has committed to an
 * event stream (behind interceptors the error would arrive as an `event: error` with status 200),
 * while a guard's exception still becomes a plain 404 answer.
 */
@Injectable()
export class CrawlerJobAccessGuard implements CanActivate {
  constructor(private readonly crawler: CrawlerService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<CrawlerJobRequest>();
    req.crawlerJob = await this.crawler.findAccessible(req.params.job_id ?? '', req.user);
    return true;
  }
}

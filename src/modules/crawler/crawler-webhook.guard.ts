import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { AppConfig } from '@app/config';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** RunPod's webhook: `X-API-Key` must equal CRAWLER_WEBHOOK_API_KEY (compared in constant time, on digests of equal length). */
@Injectable()
export class CrawlerWebhookGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(config: AppConfig) {
    this.expected = digest(config.crawler.webhookApiKey);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>()
      .headers['x-api-key'];
    if (typeof header !== 'string' || header.length === 0)
      throw new UnauthorizedException('Missing X-API-Key header');
    if (!timingSafeEqual(digest(header), this.expected))
      throw new UnauthorizedException('Invalid X-API-Key');
    return true;
  }
}

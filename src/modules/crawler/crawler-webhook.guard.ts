import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { AppConfig } from '@app/config';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * RunPod's webhook key, CRAWLER_WEBHOOK_API_KEY, checked in constant time (on SHA-256 digests,
 * which have equal lengths whatever the caller sends). Shared by the guard and the webhook's lean
 * path, so both accept exactly the same keys. Cost: one SHA-256 of the header (~1 µs).
 */
@Injectable()
export class CrawlerWebhookKey {
  private readonly expected: Buffer;

  constructor(config: AppConfig) {
    this.expected = digest(config.crawler.webhookApiKey);
  }

  /** Why an `X-API-Key` header is refused, or null when it is the key. */
  refusal(header: unknown): string | null {
    if (typeof header !== 'string' || header.length === 0) return 'Missing X-API-Key header';
    return timingSafeEqual(digest(header), this.expected) ? null : 'Invalid X-API-Key';
  }
}

/** RunPod's webhook: `X-API-Key` must equal CRAWLER_WEBHOOK_API_KEY. */
@Injectable()
export class CrawlerWebhookGuard implements CanActivate {
  constructor(private readonly key: CrawlerWebhookKey) {}

  canActivate(context: ExecutionContext): boolean {
    const refusal = this.key.refusal(
      context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers[
        'x-api-key'
      ],
    );
    if (refusal !== null) throw new UnauthorizedException(refusal);
    return true;
  }
}

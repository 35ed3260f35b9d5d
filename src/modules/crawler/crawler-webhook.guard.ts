import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { SharedSecret } from '@app/common';
import { AppConfig } from '@app/config';

/**
 * RunPod's webhook key, CRAWLER_WEBHOOK_API_KEY, checked in constant time (SharedSecret).
 * Shared by the guard and the webhook's lean path, so both accept exactly the same keys.
 */
@Injectable()
export class CrawlerWebhookKey {
  private readonly key: SharedSecret;

  constructor(config: AppConfig) {
    this.key = new SharedSecret(config.crawler.webhookApiKey);
  }

  /** Why an `X-API-Key` header is refused, or null when it is the key. */
  refusal(header: unknown): string | null {
    if (typeof header !== 'string' || header.length === 0) return 'Missing X-API-Key header';
    return this.key.matches(header) ? null : 'Invalid X-API-Key';
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

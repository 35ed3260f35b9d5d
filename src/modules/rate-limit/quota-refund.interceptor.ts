import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { catchError, Observable, throwError } from 'rxjs';
import type { QuotaRequest } from './quota.guard.js';
import { QuotaService } from './quota.service.js';

/**
 * Global: a counted request that then fails (bad body → 422, dependency down → 503) did not
 * use the costly action, so its unit is given back. Interceptor, not guard: pipes and the
 * handler run inside it, so it sees their errors.
 */
@Injectable()
export class QuotaRefundInterceptor implements NestInterceptor {
  private readonly logger = new Logger(QuotaRefundInterceptor.name);

  constructor(private readonly quotas: QuotaService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<QuotaRequest>();
    if (!req.quota) return next.handle();
    const { key } = req.quota;
    return next.handle().pipe(
      catchError((error: unknown) => {
        this.quotas
          .refund(key)
          .catch((refundError: Error) =>
            this.logger.warn(`quota refund failed: ${refundError.message}`),
          );
        return throwError(() => error);
      }),
    );
  }
}

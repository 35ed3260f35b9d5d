import {
  ConflictException,
  HttpException,
  HttpStatus,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';

/** Named errors that carry their HTTP meaning; the filter renders them in Nest's error shape. */
export class ResourceNotFoundError extends NotFoundException {
  constructor(kind: string, id: string) {
    super(`${kind} ${id} not found`);
  }
}

export class InvalidStateError extends ConflictException {}

export class DependencyUnavailableError extends ServiceUnavailableException {
  constructor(dependency: string, detail?: string) {
    super(`${dependency} is unavailable${detail ? `: ${detail}` : ''}; try again shortly`);
  }
}

export class QuotaExceededError extends HttpException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(
      { statusCode: HttpStatus.TOO_MANY_REQUESTS, error: 'Too Many Requests', message },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/** The caller's monthly provider budget cannot pay for the request (402); the message says what is left and when it renews. */
export class BudgetExceededError extends HttpException {
  constructor(message: string) {
    super(
      { statusCode: HttpStatus.PAYMENT_REQUIRED, error: 'Payment Required', message },
      HttpStatus.PAYMENT_REQUIRED,
    );
  }
}

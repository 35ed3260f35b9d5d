import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';

/**
 * A body DTO may check, by hand, the bodies it accepts (`static acceptValid(body)`: the DTO, or
 * `undefined`). Only for hot paths, and only ever as a shortcut for acceptance: whatever it does
 * not accept goes through class-validator, so a 422 lists every bad field exactly as before.
 * A spec beside each such DTO holds the check to class-validator's verdict.
 */
export interface AcceptsValidBody<T> {
  acceptValid(body: unknown): T | undefined;
}

/** The global ValidationPipe, with the hand-written fast path of `AcceptsValidBody` DTOs. */
export class AppValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body') {
      const accepted = (
        metadata.metatype as Partial<AcceptsValidBody<unknown>> | undefined
      )?.acceptValid?.(value);
      if (accepted !== undefined) return Promise.resolve(accepted);
    }
    return super.transform(value, metadata);
  }
}

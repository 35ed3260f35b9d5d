import { buildMessage, isEmail, ValidateBy, type ValidationOptions } from 'class-validator';

// NUL cannot be stored in PostgreSQL text (the insert fails: a 500, and in a batched write
// the whole batch fails); other C0 controls and DEL have no place in a one-line field and
// CR/LF would let a value forge lines wherever it is echoed (logs, CSV, SSE).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
// NUL only: multi-line fields (a password) may hold tabs and line breaks.
// eslint-disable-next-line no-control-regex -- as above
const NUL = /\u0000/;
// A UTF-16 surrogate without its pair: not a character; PostgreSQL would get U+FFFD instead.
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Well-formed text without NUL (and, unless `multiline`, without any control character). */
export function isSafeText(value: unknown, multiline = false): value is string {
  return (
    typeof value === 'string' &&
    !(multiline ? NUL : CONTROL_CHARACTERS).test(value) &&
    !UNPAIRED_SURROGATE.test(value)
  );
}

/**
 * A string PostgreSQL can store as sent and nothing downstream can misread: no NUL, no
 * unpaired surrogate and, for one-line fields (the default), no control character.
 * Refused with 422 naming the field, like every other validation failure.
 */
export function IsSafeText(
  options: { multiline?: boolean } = {},
  validationOptions?: ValidationOptions,
): PropertyDecorator {
  const multiline = options.multiline ?? false;
  return ValidateBy(
    {
      name: 'isSafeText',
      validator: {
        validate: (value) => isSafeText(value, multiline),
        defaultMessage: buildMessage(
          (eachPrefix) =>
            `${eachPrefix}$property must be text without ${
              multiline ? 'NUL characters' : 'control characters (NUL, CR, LF…)'
            } or unpaired surrogates`,
          validationOptions,
        ),
      },
    },
    validationOptions,
  );
}

/**
 * `@IsEmail()` that first checks the value is safe text: validator.js's isEmail throws
 * (URIError, a 500) on an unpaired surrogate instead of answering false.
 */
export function IsEmailAddress(validationOptions?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isEmail',
      validator: {
        validate: (value) => isSafeText(value) && isEmail(value),
        defaultMessage: buildMessage(
          (eachPrefix) => `${eachPrefix}$property must be an email`,
          validationOptions,
        ),
      },
    },
    validationOptions,
  );
}

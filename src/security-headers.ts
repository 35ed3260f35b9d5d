import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

export const HELMET_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: [`'self'`],
      // Swagger UI and Bull Board ship inline bootstrap scripts and styles.
      scriptSrc: [`'self'`, `'unsafe-inline'`],
      styleSrc: [`'self'`, `'unsafe-inline'`],
      imgSrc: [`'self'`, 'data:', 'validator.swagger.io'],
    },
  },
};

/**
 * The headers helmet sets for these options, computed once at start-up. With these options
 * (no nonces, nothing per request) helmet writes the same headers on every response, so running
 * its middleware per request (thirteen `res.setHeader` calls, which also push Node onto its slow
 * header-merging path) buys nothing. helmet stays the source of the values.
 */
export function staticSecurityHeaders(
  options: Readonly<HelmetOptions> = HELMET_OPTIONS,
): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  helmet(options)(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    (error?: unknown) => {
      failure = error;
    },
  );
  if (failure !== undefined) throw new Error('helmet rejected its options', { cause: failure });
  return Object.freeze(headers);
}

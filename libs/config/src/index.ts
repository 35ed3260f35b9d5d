export * from './app-config.js';
export * from './app-config.module.js';
export { BILLING_SKUS, envSchema, INSECURE_DEFAULTS } from './env.schema.js';

export * from './database/snake-naming.strategy.js';
export * from './decorators/auth.decorators.js';
export * from './http/all-exceptions.filter.js';
export * from './http/domain-errors.js';
export * from './pagination/pagination.js';
export * from './redis/redis.module.js';
export * from './redis/redis.service.js';
export * from './queues.js';

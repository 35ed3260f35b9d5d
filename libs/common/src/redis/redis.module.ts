import { Global, Module } from '@nestjs/common';
import { RedisFanout } from './redis-fanout.service.js';
import { RedisService } from './redis.service.js';

@Global()
@Module({ providers: [RedisService, RedisFanout], exports: [RedisService, RedisFanout] })
export class RedisModule {}

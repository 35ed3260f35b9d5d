import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RedisService } from '@app/common';
import { AppConfig } from '@app/config';
import { AdminUsersController } from './admin-users.controller.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { CallerCache } from './caller-cache.js';
import { AuthSession } from './entities/auth-session.entity.js';
import { User } from './entities/user.entity.js';
import { JwtAuthGuard } from './guards/jwt-auth.guard.js';
import { RolesGuard } from './guards/roles.guard.js';
import { JwtStrategy } from './jwt.strategy.js';
import {
  LOGIN_ACCOUNT_THROTTLER,
  LOGIN_THROTTLER,
  loginAccountTracker,
  loginAddressTracker,
  LoginThrottlerGuard,
  RememberLoginAddressInterceptor,
} from './throttling/login-throttler.guard.js';
import { KnownLoginAddresses } from './throttling/known-login-addresses.js';
import { RedisThrottlerStorage } from './throttling/redis-throttler.storage.js';
import { SessionsService } from './sessions.service.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([User, AuthSession]),
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        secret: config.auth.jwtSecret,
        signOptions: { expiresIn: config.auth.jwtExpiresInSeconds, algorithm: 'HS256' },
      }),
    }),
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, RedisService],
      useFactory: (config: AppConfig, redis: RedisService) => ({
        // Checked in order of window (the guard sorts by ttl): an attempt already refused per
        // address does not count against the account.
        throttlers: [
          {
            name: LOGIN_THROTTLER,
            limit: config.auth.loginThrottle.limit,
            ttl: config.auth.loginThrottle.ttlSeconds * 1000,
            getTracker: loginAddressTracker,
          },
          {
            name: LOGIN_ACCOUNT_THROTTLER,
            limit: config.auth.loginAccountThrottle.limit,
            ttl: config.auth.loginAccountThrottle.ttlSeconds * 1000,
            getTracker: loginAccountTracker,
            // How many attempts others made on an account is nobody's business.
            setHeaders: false,
          },
        ],
        storage: new RedisThrottlerStorage(redis),
      }),
    }),
  ],
  controllers: [AuthController, AdminUsersController],
  providers: [
    UsersService,
    AuthService,
    CallerCache,
    SessionsService,
    JwtStrategy,
    KnownLoginAddresses,
    LoginThrottlerGuard,
    RememberLoginAddressInterceptor,
    JwtAuthGuard,
    RolesGuard,
  ],
  exports: [UsersService, JwtAuthGuard, RolesGuard],
})
export class AuthModule {}

import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC_KEY, QUERY_TOKEN_KEY, type AuthUser } from '@app/common';
import { JwtStrategy } from '../jwt.strategy.js';

interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
  user?: AuthUser;
}

/** Global: every route needs a valid bearer token unless it is marked @Public(). */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtStrategy,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    const req = context.switchToHttp().getRequest<AuthRequest>();
    if (this.reflector.getAllAndOverride<boolean>(QUERY_TOKEN_KEY, targets)) {
      const token = req.query?.access_token;
      if (!req.headers.authorization && typeof token === 'string' && token) {
        req.headers.authorization = `Bearer ${token}`;
      }
    }
    const { user, reason } = await this.jwt.authenticate(req);
    if (!user) throw new UnauthorizedException(reason);
    req.user = user;
    return true;
  }
}

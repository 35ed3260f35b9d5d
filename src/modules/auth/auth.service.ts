import { Injectable, UnauthorizedException } from '@nestjs/common';
import {
  LoginDto,
  LoginResponseDto,
  RegisterDto,
  RegisterResponseDto,
  UserDto,
} from './dto/auth.dto.js';
import { SessionsService } from './sessions.service.js';
import { Metrics } from '../metrics/metrics.service.js';
import { UsersService } from './users.service.js';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly metrics: Metrics,
  ) {}

  /** A new account comes signed in: a session, its access token and refresh token. */
  async register(dto: RegisterDto): Promise<RegisterResponseDto> {
    const user = await this.users.create(dto.email, dto.password, dto.name ?? null);
    return { user: UserDto.from(user), ...(await this.sessions.start(user)) };
  }

  async login(dto: LoginDto): Promise<LoginResponseDto> {
    const user = await this.users.verifyCredentials(dto.email, dto.password);
    if (!user) {
      this.metrics.m.loginFailures.inc();
      throw new UnauthorizedException('Invalid email or password');
    }
    return { ...(await this.sessions.start(user)), user: UserDto.from(user) };
  }
}

import { Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '@app/config';
import {
  LoginDto,
  LoginResponseDto,
  RegisterDto,
  RegisterResponseDto,
  UserDto,
} from './dto/auth.dto.js';
import type { User } from './entities/user.entity.js';
import { Metrics } from '../metrics/metrics.service.js';
import { UsersService } from './users.service.js';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {}

  async register(dto: RegisterDto): Promise<RegisterResponseDto> {
    const user = await this.users.create(dto.email, dto.password, dto.name ?? null);
    return { user: UserDto.from(user), access_token: await this.sign(user) };
  }

  async login(dto: LoginDto): Promise<LoginResponseDto> {
    const user = await this.users.verifyCredentials(dto.email, dto.password);
    if (!user) {
      this.metrics.m.loginFailures.inc();
      throw new UnauthorizedException('Invalid email or password');
    }
    return {
      access_token: await this.sign(user),
      token_type: 'Bearer',
      expires_in: this.config.auth.jwtExpiresInSeconds,
      user: UserDto.from(user),
    };
  }

  private sign(user: User): Promise<string> {
    return this.jwt.signAsync({ sub: user.id, role: user.role });
  }
}

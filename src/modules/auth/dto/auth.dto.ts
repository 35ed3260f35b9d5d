import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { IsEmailAddress, IsSafeText } from '@app/common';
import type { UserRole } from '@app/config';
import { USER_ROLES, type User } from '../entities/user.entity.js';

const trimLower = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class RegisterDto {
  /** Login email; case is ignored. */
  @ApiProperty({ example: 'ana@example.com' })
  @Transform(trimLower)
  @IsEmailAddress()
  @MaxLength(320)
  email!: string;

  /** At least 8 characters. */
  @ApiProperty({ minLength: 8, example: 'correct horse battery' })
  @IsString()
  @IsSafeText({ multiline: true })
  @MinLength(8)
  @MaxLength(200)
  password!: string;

  /** Display name. */
  @ApiProperty({ required: false, example: 'Ana' })
  @IsOptional()
  @IsString()
  @IsSafeText()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;
}

export class LoginDto {
  @ApiProperty({ example: 'ana@example.com' })
  @Transform(trimLower)
  @IsEmailAddress()
  @MaxLength(320)
  email!: string;

  @ApiProperty({ example: 'correct horse battery' })
  @IsString()
  @IsSafeText({ multiline: true })
  @IsNotEmpty()
  @MaxLength(200)
  password!: string;
}

export class UpdateUserRoleDto {
  @ApiProperty({ enum: USER_ROLES })
  @IsIn(USER_ROLES)
  role!: UserRole;
}

export class UserDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ type: String, nullable: true }) name!: string | null;
  @ApiProperty({ enum: USER_ROLES }) role!: UserRole;
  @ApiProperty({ format: 'date-time' }) created_at!: string;

  static from(user: Pick<User, 'id' | 'email' | 'name' | 'role' | 'createdAt'>): UserDto {
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      created_at: user.createdAt.toISOString(),
    };
  }
}

/** `<session uuid>.<32 random bytes, base64url>` (see SessionsService). */
const REFRESH_TOKEN_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/;

export class RefreshDto {
  /** The refresh token from login, register or the previous refresh. Single use. */
  @ApiProperty({ example: '3f6c1a52-…-9b1e.Vb2m…', pattern: REFRESH_TOKEN_PATTERN.source })
  @IsString()
  @Matches(REFRESH_TOKEN_PATTERN, {
    message: 'refresh_token must be a refresh token as issued by login, register or refresh',
  })
  refresh_token!: string;
}

/** A session's tokens, as login, register and refresh answer them. */
export class SessionTokensDto {
  /** Short-lived JWT for `Authorization: Bearer` (and `?access_token=` on SSE routes). */
  @ApiProperty() access_token!: string;
  @ApiProperty({ example: 'Bearer' }) token_type!: 'Bearer';
  /** Seconds until the access token expires (JWT_EXPIRES_IN). */
  @ApiProperty({ example: 900 }) expires_in!: number;
  /**
   * Opaque, single use: `POST /api/auth/refresh` exchanges it for new tokens. Using one twice
   * ends the session.
   */
  @ApiProperty({ example: '3f6c1a52-…-9b1e.Vb2m…' }) refresh_token!: string;
  /** Seconds the session lasts without a refresh (REFRESH_TOKEN_TTL); each refresh renews it. */
  @ApiProperty({ example: 2592000 }) refresh_expires_in!: number;
}

export class RegisterResponseDto extends SessionTokensDto {
  @ApiProperty({ type: UserDto }) user!: UserDto;
}

export class LoginResponseDto extends SessionTokensDto {
  @ApiProperty({ type: UserDto }) user!: UserDto;
}

export class RevokeSessionsResponseDto {
  @ApiProperty({ format: 'uuid' }) user_id!: string;
  /** Sessions that were still alive and are now ended. */
  @ApiProperty({ example: 2 }) revoked_sessions!: number;
}

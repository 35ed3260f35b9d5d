import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
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

  static from(user: User): UserDto {
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      created_at: user.createdAt.toISOString(),
    };
  }
}

export class RegisterResponseDto {
  @ApiProperty({ type: UserDto }) user!: UserDto;
  @ApiProperty() access_token!: string;
}

export class LoginResponseDto {
  @ApiProperty() access_token!: string;
  @ApiProperty({ example: 'Bearer' }) token_type!: 'Bearer';
  /** Seconds until the token expires. */
  @ApiProperty({ example: 3600 }) expires_in!: number;
  @ApiProperty({ type: UserDto }) user!: UserDto;
}

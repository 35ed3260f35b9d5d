import {
  Body,
  Controller,
  createParamDecorator,
  ExecutionContext,
  Get,
  HttpCode,
  HttpStatus,
  Post,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { Auth, Public } from '@app/common';
import { REVOKE_REASON } from './auth.constants.js';
import { AuthService } from './auth.service.js';
import type { AuthCaller } from './caller-cache.js';
import {
  LoginDto,
  LoginResponseDto,
  RefreshDto,
  RegisterDto,
  RegisterResponseDto,
  SessionTokensDto,
  UserDto,
} from './dto/auth.dto.js';
import {
  LoginThrottlerGuard,
  RememberLoginAddressInterceptor,
} from './throttling/login-throttler.guard.js';
import { SessionsService } from './sessions.service.js';

/** The caller with its session, as the JWT guard attached it (from the caller cache). */
const Caller = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AuthCaller =>
    ctx.switchToHttp().getRequest<{ user: AuthCaller }>().user,
);

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
  ) {}

  @Public()
  @Post('register')
  @ApiOperation({ summary: 'Create an account (role user); it comes signed in (a new session)' })
  @ApiCreatedResponse({ type: RegisterResponseDto })
  @ApiConflictResponse({ description: 'The email is already registered' })
  @ApiUnprocessableEntityResponse({ description: 'Invalid fields, each listed in message' })
  register(@Body() dto: RegisterDto): Promise<RegisterResponseDto> {
    return this.auth.register(dto);
  }

  @Public()
  @UseGuards(LoginThrottlerGuard)
  @UseInterceptors(RememberLoginAddressInterceptor)
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Exchange email and password for a new session: access and refresh tokens',
  })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiUnauthorizedResponse({ description: 'Wrong email or password' })
  @ApiTooManyRequestsResponse({
    description:
      'Too many attempts for this email from this address, or for this email from anywhere; Retry-After says when to try again',
  })
  login(@Body() dto: LoginDto): Promise<LoginResponseDto> {
    return this.auth.login(dto);
  }

  @Public()
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Exchange a refresh token for a new access token and a new refresh token',
    description:
      'Rotation: the refresh token presented is spent. Presenting an already-spent one (a replay, ' +
      'or two refreshes racing with the same token) ends the whole session: every token of it ' +
      'answers 401 from then on. Clients should refresh one request at a time.',
  })
  @ApiOkResponse({ type: SessionTokensDto })
  @ApiUnauthorizedResponse({
    description: 'Unknown, expired, already used (the session is now revoked) or revoked session',
  })
  @ApiUnprocessableEntityResponse({ description: 'refresh_token missing or not a string' })
  refresh(@Body() dto: RefreshDto): Promise<SessionTokensDto> {
    return this.sessions.refresh(dto.refresh_token);
  }

  @Auth()
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: "End this token's session: its access and refresh tokens stop working at once",
    description:
      'Applies on every API process before the answer. Open SSE streams, authorised when they ' +
      'were opened, run on until they end.',
  })
  @ApiNoContentResponse({ description: 'The session is ended' })
  async logout(@Caller() caller: AuthCaller): Promise<void> {
    await this.sessions.revoke(caller.sessionId, REVOKE_REASON.logout);
  }

  @Auth()
  @Get('me')
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserDto })
  me(@Caller() caller: AuthCaller): UserDto {
    // From the caller cache (kept current by invalidation): no database read.
    return UserDto.from(caller);
  }
}

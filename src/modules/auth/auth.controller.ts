import {
  Body,
  Controller,
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
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { Auth, CurrentUser, Public, ResourceNotFoundError, type AuthUser } from '@app/common';
import { AuthService } from './auth.service.js';
import {
  LoginDto,
  LoginResponseDto,
  RegisterDto,
  RegisterResponseDto,
  UserDto,
} from './dto/auth.dto.js';
import {
  LoginThrottlerGuard,
  RememberLoginAddressInterceptor,
} from './throttling/login-throttler.guard.js';
import { UsersService } from './users.service.js';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Public()
  @Post('register')
  @ApiOperation({ summary: 'Create an account (role user) and get a token' })
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
  @ApiOperation({ summary: 'Exchange email and password for a bearer token' })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiUnauthorizedResponse({ description: 'Wrong email or password' })
  @ApiTooManyRequestsResponse({
    description:
      'Too many attempts for this email from this address, or for this email from anywhere; Retry-After says when to try again',
  })
  login(@Body() dto: LoginDto): Promise<LoginResponseDto> {
    return this.auth.login(dto);
  }

  @Auth()
  @Get('me')
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserDto })
  async me(@CurrentUser() caller: AuthUser): Promise<UserDto> {
    const user = await this.users.findById(caller.id);
    if (!user) throw new ResourceNotFoundError('User', caller.id);
    return UserDto.from(user);
  }
}

import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiPaginatedResponse, Auth, PageQueryDto, paginate, type Paginated } from '@app/common';
import { RevokeSessionsResponseDto, UpdateUserRoleDto, UserDto } from './dto/auth.dto.js';
import { UsersService } from './users.service.js';

@ApiTags('admin')
@Auth('admin')
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'All users, oldest first' })
  @ApiPaginatedResponse(UserDto)
  async list(@Query() query: PageQueryDto): Promise<Paginated<UserDto>> {
    const page = await this.users.list(query);
    return paginate(
      page.data.map((user) => UserDto.from(user)),
      page.meta.total,
      query,
    );
  }

  @Patch(':id')
  @ApiOperation({
    summary: "Change a user's role",
    description:
      'Takes effect at once on every API process. A demotion (admin → premium/user, premium → ' +
      'user) also ends every session of the user: their tokens answer 401 from the next request.',
  })
  @ApiOkResponse({ type: UserDto })
  @ApiNotFoundResponse({ description: 'No such user' })
  async setRole(
    @Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 422 })) id: string,
    @Body() dto: UpdateUserRoleDto,
  ): Promise<UserDto> {
    return UserDto.from(await this.users.setRole(id, dto.role));
  }

  @Post(':id/revoke-sessions')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'End every session of a user (a stolen laptop, a leaked token)',
    description:
      'Every access and refresh token of the user answers 401 from the next request, on every ' +
      'API process. The user can log in again.',
  })
  @ApiOkResponse({ type: RevokeSessionsResponseDto })
  @ApiNotFoundResponse({ description: 'No such user' })
  async revokeSessions(
    @Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 422 })) id: string,
  ): Promise<RevokeSessionsResponseDto> {
    return { user_id: id, revoked_sessions: await this.users.revokeSessions(id) };
  }
}

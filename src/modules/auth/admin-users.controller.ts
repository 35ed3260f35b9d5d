import { Body, Controller, Get, Param, ParseUUIDPipe, Patch, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiPaginatedResponse, Auth, PageQueryDto, paginate, type Paginated } from '@app/common';
import { UpdateUserRoleDto, UserDto } from './dto/auth.dto.js';
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
  @ApiOperation({ summary: "Change a user's role" })
  @ApiOkResponse({ type: UserDto })
  @ApiNotFoundResponse({ description: 'No such user' })
  async setRole(
    @Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 422 })) id: string,
    @Body() dto: UpdateUserRoleDto,
  ): Promise<UserDto> {
    return UserDto.from(await this.users.setRole(id, dto.role));
  }
}

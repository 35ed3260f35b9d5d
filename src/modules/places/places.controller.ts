import {
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Query,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiServiceUnavailableResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import {
  ApiPaginatedResponse,
  Auth,
  CurrentUser,
  type AuthUser,
  type Paginated,
} from '@app/common';
import { ExportPlacesQueryDto, ListPlacesQueryDto, PlaceDto } from './dto/place.dto.js';
import { exportStream } from './places.export.js';
import { PlacesService } from './places.service.js';

const uuid = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.UNPROCESSABLE_ENTITY });

@ApiTags('places')
@Auth()
@Controller('places')
export class PlacesController {
  constructor(private readonly places: PlacesService) {}

  @Get()
  @ApiOperation({
    summary: 'Stored places: your own (admins: everyone’s), filtered, sorted and paged',
  })
  @ApiPaginatedResponse(PlaceDto)
  list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListPlacesQueryDto,
  ): Promise<Paginated<PlaceDto>> {
    return this.places.list(user, query);
  }

  @Get('export')
  @ApiOperation({
    summary: 'Download the filtered places as CSV or JSON',
    description:
      'Streamed from the database in chunks: memory stays flat however many places there are.',
  })
  @ApiProduces('text/csv', 'application/json')
  @ApiOkResponse({ description: 'The file (Content-Disposition: attachment)' })
  export(@CurrentUser() user: AuthUser, @Query() query: ExportPlacesQueryDto): StreamableFile {
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
    return new StreamableFile(exportStream(this.places.stream(user, query), query.format), {
      type: query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
      disposition: `attachment; filename="places-${stamp}.${query.format}"`,
    });
  }

  @Get(':id')
  @ApiOperation({ summary: 'One place (yours, or any for admins)' })
  @ApiOkResponse({ type: PlaceDto })
  @ApiNotFoundResponse({ description: 'No such place, or not yours' })
  findOne(@CurrentUser() user: AuthUser, @Param('id', uuid) id: string): Promise<PlaceDto> {
    return this.places.findOne(user, id);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a place (yours, or any for admins)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ description: 'No such place, or not yours' })
  @ApiServiceUnavailableResponse({ description: 'Redis unavailable: nothing was deleted' })
  async remove(@CurrentUser() user: AuthUser, @Param('id', uuid) id: string): Promise<void> {
    await this.places.remove(user, id);
  }
}

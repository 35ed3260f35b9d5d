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
  ApiExtraModels,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiServiceUnavailableResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiUnprocessableEntityResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { Auth, CurrentUser, type AuthUser } from '@app/common';
import { AppConfig } from '@app/config';
import {
  ExportPlacesQueryDto,
  ListPlacesQueryDto,
  PlaceDto,
  PlacePageMeta,
} from './dto/place.dto.js';
import { EXPORT_CONTENT_TYPES } from './places.constants.js';
import { csvStream, exportStream } from './places.export.js';
import { PlacesService, type PlacePage } from './places.service.js';

const uuid = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.UNPROCESSABLE_ENTITY });

@ApiTags('places')
@Auth()
@Controller('places')
export class PlacesController {
  constructor(
    private readonly places: PlacesService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Stored places: your own (admins: everyone’s), filtered, sorted and paged',
    description:
      'Page with `?page=` or, for constant-time next pages (infinite scroll), with `?cursor=` set to ' +
      'the previous answer’s `meta.next_cursor`. `meta.total` is exact: the number of places ' +
      'matching the filters (cached until the owner’s places change).',
  })
  @ApiExtraModels(PlacePageMeta, PlaceDto)
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['data', 'meta'],
      properties: {
        data: { type: 'array', items: { $ref: getSchemaPath(PlaceDto) } },
        meta: { $ref: getSchemaPath(PlacePageMeta) },
      },
    },
  })
  @ApiUnprocessableEntityResponse({
    description: 'A bad parameter, or a cursor not returned by this list for the same sort',
  })
  list(@CurrentUser() user: AuthUser, @Query() query: ListPlacesQueryDto): Promise<PlacePage> {
    return this.places.list(user, query);
  }

  @Get('export')
  @ApiOperation({
    summary: 'Download the filtered places as CSV, JSON or an Excel workbook (XLSX)',
    description:
      'Streamed from the database in chunks: memory stays flat however many places there are. ' +
      'Text that a spreadsheet could run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) ' +
      "is neutralised with a leading `'` (OWASP); phone numbers are text cells in XLSX and carry " +
      "that `'` in CSV. CSV takes `?bom=true` for Excel.",
  })
  @ApiProduces(...Object.values(EXPORT_CONTENT_TYPES).map((type) => type.split(';')[0]))
  @ApiOkResponse({ description: 'The file (Content-Disposition: attachment)' })
  async export(
    @CurrentUser() user: AuthUser,
    @Query() query: ExportPlacesQueryDto,
  ): Promise<StreamableFile> {
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
    const body =
      query.format !== 'csv'
        ? exportStream(this.places.stream(user, query), query.format)
        : this.config.places.csvExport === 'copy'
          ? await this.places.csvExport(user, query, { bom: query.bom })
          : csvStream(this.places.streamCsv(user, query), { bom: query.bom });
    return new StreamableFile(body, {
      type: EXPORT_CONTENT_TYPES[query.format],
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

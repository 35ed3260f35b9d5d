import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common';
import { API_PREFIX } from '../../app.constants.js';
import { ServiceInfoDto } from './dto/service-info.dto.js';
import { loadServiceInfo } from './service-info.js';

/**
 * `GET /`, outside the /api prefix: the earlier system's health check was `curl http://host/`.
 * A constant answer: no database, no Redis (that is /api/health's job).
 */
@ApiTags('operations')
@Controller()
export class RootController {
  private readonly info = loadServiceInfo(API_PREFIX);

  @Public()
  @Get()
  @ApiOperation({
    summary: 'Service name, version and links to the docs and health (outside /api)',
  })
  @ApiOkResponse({ type: ServiceInfoDto })
  root(): ServiceInfoDto {
    return this.info;
  }
}

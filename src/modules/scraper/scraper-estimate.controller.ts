import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { Auth, CurrentUser, type AuthUser } from '@app/common';
import { CreateScrapeJobDto, ScrapeEstimateDto } from './dto/scraper.dto.js';
import { ScraperService } from './scraper.service.js';

@ApiTags('scraper')
@Auth()
@Controller('scraper')
export class ScraperEstimateController {
  constructor(private readonly scraper: ScraperService) {}

  @Post('estimate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'What a scrape would cost, before it runs',
    description:
      'The same body as `POST /api/scraper/jobs`; nothing is queued and no quota is counted. Answers the ' +
      'billed requests expected and their estimated price (a range where the count is unknown: a query ' +
      'search stops early when the query has fewer places; an area depends on its density), whether the ' +
      'cache would answer it (then 0), the caller’s month, and whether the job would be admitted (else 402).',
  })
  @ApiOkResponse({ type: ScrapeEstimateDto })
  @ApiUnprocessableEntityResponse({ description: 'Invalid body; `message` lists every bad field' })
  estimate(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateScrapeJobDto,
  ): Promise<ScrapeEstimateDto> {
    return this.scraper.estimate(user, dto);
  }
}

import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { IsBoolean, IsOptional } from 'class-validator';
import { Auth, Quota } from '@app/common';

class ProbeDto {
  @IsOptional()
  @IsBoolean()
  fail?: boolean;
}

/** A costly-looking route for exercising @Quota before (and besides) the real features. */
@Controller('test-quota')
class QuotaProbeController {
  @Auth()
  @Quota('scraper')
  @Post()
  @HttpCode(202)
  run(@Body() dto: ProbeDto) {
    if (dto.fail) throw new Error('the costly action failed');
    return { ok: true };
  }
}

@Module({ controllers: [QuotaProbeController] })
export class QuotaProbeModule {}

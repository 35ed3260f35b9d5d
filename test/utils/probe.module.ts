import { Body, Controller, Get, HttpCode, Module, Post, Query } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import { Auth, Public, Quota } from '@app/common';

class ProbeDto {
  @IsOptional()
  @IsBoolean()
  fail?: boolean;
}

class SlowQuery {
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(5000)
  ms!: number;
}

/** Probe routes tests mount: a costly-looking quota'd action, and a slow request for drain tests. */
@Controller('test-probe')
export class ProbeController {
  /** Slow requests inside the handler right now (tests wait on it instead of sleeping). */
  static slowInFlight = 0;

  @Auth()
  @Quota('scraper')
  @Post('quota')
  @HttpCode(202)
  run(@Body() dto: ProbeDto) {
    if (dto.fail) throw new Error('the costly action failed');
    return { ok: true };
  }

  @Public()
  @Get('slow')
  async slow(@Query() query: SlowQuery) {
    ProbeController.slowInFlight++;
    try {
      await new Promise((resolve) => setTimeout(resolve, query.ms));
      return { slept: query.ms };
    } finally {
      ProbeController.slowInFlight--;
    }
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}

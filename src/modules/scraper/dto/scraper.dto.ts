import { ApiProperty, IntersectionType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  buildMessage,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateNested,
  registerDecorator,
  type ValidationArguments,
} from 'class-validator';
import { IsSafeText, PageQueryDto } from '@app/common';
import { BILLING_SKUS } from '@app/config';
import { boundsProblems, MAX_RESULTS_LIMIT, polygonProblems } from '@app/google-maps';
import { BudgetDto } from '../../spend/dto/spend.dto.js';
import { toUsd } from '../../spend/spend.money.js';
import type { ScrapeEstimate } from '../scrape-cost.service.js';
import { normalizeQueryPart } from '../scraper.cache-key.js';
import { MAX_BATCH_AREAS } from '../scraper.constants.js';
import {
  SCRAPE_COVERAGES,
  SCRAPER_JOB_STATUSES,
  type ScrapeCoverage,
  type ScraperJob,
  type ScraperJobStatus,
} from '../entities/scraper-job.entity.js';

/**
 * The most `max_results` the body itself accepts in area mode; the deployment's own limit
 * (SCRAPER_AREA_MAX_RESULTS, default 2,000, at most this) is checked by the service.
 */
export const AREA_MAX_RESULTS_CEILING = 30_000;

/** `max_results`: 1–60 for a query, 1–AREA_MAX_RESULTS_CEILING in area mode. */
function IsMaxResultsForCoverage() {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isMaxResultsForCoverage',
      target: object.constructor,
      propertyName,
      validator: {
        validate: (value: unknown, args: ValidationArguments) => {
          const limit =
            (args.object as { coverage?: string }).coverage === 'area'
              ? AREA_MAX_RESULTS_CEILING
              : MAX_RESULTS_LIMIT;
          return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= limit;
        },
        defaultMessage: (args?: ValidationArguments) => {
          const area = (args?.object as { coverage?: string })?.coverage === 'area';
          const value = args?.value as unknown;
          if (!Number.isInteger(value)) return 'max_results must be an integer number';
          if ((value as number) < 1) return 'max_results must not be less than 1';
          return area
            ? `max_results must not be greater than ${AREA_MAX_RESULTS_CEILING} in area mode`
            : `max_results must not be greater than ${MAX_RESULTS_LIMIT} (Google's limit for one query; coverage "area" goes further)`;
        },
      },
    });
}

/** A GeoJSON Polygon: closed rings of [lng, lat]. */
function IsGeoJsonPolygon() {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isGeoJsonPolygon',
      target: object.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => polygonProblems(value).length === 0,
        defaultMessage: (args?: ValidationArguments) => polygonProblems(args?.value).join('; '),
      },
    });
}

/** South-west really south-west of north-east. */
function IsOrderedBounds() {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isOrderedBounds',
      target: object.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => {
          const b = value as BoundsDto | undefined;
          if (!b?.south_west || !b?.north_east) return true; // the nested checks report it
          return boundsProblems(BoundsDto.toBounds(b)).length === 0;
        },
        defaultMessage: (args?: ValidationArguments) =>
          boundsProblems(BoundsDto.toBounds(args?.value as BoundsDto)).join('; '),
      },
    });
}

export class LatLngDto {
  /** Latitude, -90–90. */
  @ApiProperty({ example: -6.2, minimum: -90, maximum: 90 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-90)
  @Max(90)
  lat!: number;

  /** Longitude, -180–180. */
  @ApiProperty({ example: 106.82, minimum: -180, maximum: 180 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-180)
  @Max(180)
  lng!: number;
}

export class BoundsDto {
  @ApiProperty({ type: LatLngDto })
  @IsObject()
  @ValidateNested()
  @Type(() => LatLngDto)
  south_west!: LatLngDto;

  @ApiProperty({ type: LatLngDto })
  @IsObject()
  @ValidateNested()
  @Type(() => LatLngDto)
  north_east!: LatLngDto;

  static toBounds(dto: BoundsDto) {
    return {
      sw: { lat: dto.south_west.lat, lng: dto.south_west.lng },
      ne: { lat: dto.north_east.lat, lng: dto.north_east.lng },
    };
  }
}

export class GeoJsonPolygonDto {
  @ApiProperty({ enum: ['Polygon'] }) type!: 'Polygon';
  /** Rings of `[longitude, latitude]` positions, each closed (last = first); rings after the first are holes. */
  @ApiProperty({
    type: 'array',
    items: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
    example: [
      [
        [106.81, -6.21],
        [106.83, -6.21],
        [106.83, -6.19],
        [106.81, -6.21],
      ],
    ],
  })
  coordinates!: number[][][];
}

const trimText = (value: unknown) =>
  typeof value === 'string' ? value.replace(/\s+/g, ' ').trim() : value;
const trim = ({ value }: { value: unknown }) => trimText(value);
const trimEach = ({ value }: { value: unknown }) =>
  Array.isArray(value) ? value.map(trimText) : trimText(value);

/**
 * A list of areas, when `kecamatan` is one: 1–MAX_BATCH_AREAS non-empty names, none twice
 * (compared as the cache compares them: case, accents and spacing folded). A plain string passes.
 */
function IsAreaList(): PropertyDecorator {
  const problem = (value: unknown): string | null => {
    if (!Array.isArray(value)) return null;
    if (value.length < 1 || value.length > MAX_BATCH_AREAS)
      return `must list 1 to ${MAX_BATCH_AREAS} areas (got ${value.length})`;
    if (value.some((area) => typeof area === 'string' && !area))
      return 'must not list an empty area';
    const seen = new Map<string, string>();
    const duplicates = new Set<string>();
    for (const area of value) {
      if (typeof area !== 'string') continue;
      const key = normalizeQueryPart(area);
      if (seen.has(key)) duplicates.add(seen.get(key)!);
      else seen.set(key, area);
    }
    return duplicates.size ? `lists duplicate areas: ${[...duplicates].join(', ')}` : null;
  };
  return ValidateBy({
    name: 'isAreaList',
    validator: {
      validate: (value) => problem(value) === null,
      defaultMessage: buildMessage(
        (_each, args) => `$property ${problem(args?.value) ?? 'is invalid'}`,
      ),
    },
  });
}

export class CreateScrapeJobDto {
  /** What to look for. */
  @ApiProperty({ example: 'coffee shop', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @IsSafeText()
  @IsNotEmpty()
  @MaxLength(200)
  keyword!: string;

  /** City or area. */
  @ApiProperty({ example: 'Jakarta Selatan', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @IsSafeText()
  @IsNotEmpty()
  @MaxLength(200)
  location!: string;

  /**
   * District (kecamatan) within the location; or a list of 1–50 different districts: one job
   * per district, grouped in a batch (answered 202 with the batch; counts one quota unit per district).
   */
  @ApiProperty({
    required: false,
    oneOf: [
      { type: 'string', maxLength: 200, example: 'Kebayoran Baru' },
      {
        type: 'array',
        items: { type: 'string', maxLength: 200 },
        minItems: 1,
        maxItems: MAX_BATCH_AREAS,
        uniqueItems: true,
        example: ['Kebayoran Baru', 'Tebet', 'Menteng'],
      },
    ],
  })
  @IsOptional()
  @Transform(trimEach)
  @IsString({ each: true })
  @IsSafeText({}, { each: true })
  @MaxLength(200, { each: true })
  @IsAreaList()
  kecamatan?: string | string[];

  /**
   * How many places to fetch: 1–60 (Google's limit for one query), default 20. With
   * `coverage: "area"`: up to SCRAPER_AREA_MAX_RESULTS (default 2,000), which is also the default.
   */
  @ApiProperty({
    required: false,
    minimum: 1,
    maximum: AREA_MAX_RESULTS_CEILING,
    default: 20,
    description:
      'How many places to fetch: 1–60 (Google’s limit for one query), default 20. With coverage "area": ' +
      'up to SCRAPER_AREA_MAX_RESULTS (default 2,000), which is then also the default.',
  })
  @IsOptional()
  @IsMaxResultsForCoverage()
  max_results?: number;

  /**
   * `query` (default): one Text Search, at most 60 places. `area`: every place of the area —
   * the kecamatan within the location (resolved to its viewport), or `bounds` / `polygon` —
   * searched rectangle by rectangle (Google Places provider only).
   */
  @ApiProperty({
    required: false,
    enum: SCRAPE_COVERAGES,
    default: 'query',
    description:
      '`query`: one Text Search (at most 60 places). `area`: every place of the kecamatan within the location ' +
      '(or of `bounds` / `polygon`), searched rectangle by rectangle; Google Places provider only (422 otherwise).',
  })
  @IsOptional()
  @IsIn(SCRAPE_COVERAGES)
  coverage: ScrapeCoverage = 'query';

  /** Area mode: the rectangle to cover instead of the kecamatan's viewport. */
  @ApiProperty({
    required: false,
    type: BoundsDto,
    description: 'Area mode: the rectangle to cover instead of the kecamatan’s viewport.',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => BoundsDto)
  @IsOrderedBounds()
  bounds?: BoundsDto;

  /** Area mode: a GeoJSON Polygon to cover; places outside it are dropped. */
  @ApiProperty({
    required: false,
    type: GeoJsonPolygonDto,
    description:
      'Area mode: a GeoJSON Polygon (closed rings of [lng, lat]) to cover; places outside it are dropped.',
  })
  @IsOptional()
  @IsGeoJsonPolygon()
  polygon?: GeoJsonPolygonDto;

  /** Skip the cache and scrape again (the fresh result refreshes the cache). */
  @ApiProperty({ required: false, default: false })
  @IsOptional()
  @IsBoolean()
  refresh: boolean = false;
}

/** What a job's provider requests cost (estimated from the price table). */
export class JobCostDto {
  /** Billed provider requests: 0 when answered from the cache or by another job's identical search. */
  @ApiProperty({ example: 3 }) requests!: number;
  @ApiProperty({ example: 0.105 }) estimated_usd!: number;

  static from(requests: number, micros: number | string): JobCostDto {
    return { requests, estimated_usd: toUsd(Number(micros)) };
  }
}

export class RequestRangeDto {
  @ApiProperty() min!: number;
  @ApiProperty() max!: number;
}

export class UsdRangeDto {
  @ApiProperty({ example: 0.035 }) min!: number;
  @ApiProperty({ example: 0.105 }) max!: number;
}

/** What a scrape would cost before it runs. */
export class ScrapeEstimateDto {
  @ApiProperty({ enum: ['query', 'area'] }) coverage!: 'query' | 'area';
  @ApiProperty({ enum: ['google-places', 'python-api'] }) provider!: string;
  /** What each request is billed as (Text Search at the tier of the scraper's field mask). */
  @ApiProperty({ enum: BILLING_SKUS }) sku!: string;
  /** Answered from the cache: no provider request at all. */
  @ApiProperty() from_cache!: boolean;
  /** Area coverage: cells of the area already cached (free); null for query coverage. */
  @ApiProperty({ type: Number, nullable: true }) cached_cells!: number | null;
  /** Billed requests expected: a query search 1 to ceil(max_results / 20) pages (fewer when the query has fewer places). */
  @ApiProperty({ type: RequestRangeDto }) requests!: RequestRangeDto;
  @ApiProperty({ type: UsdRangeDto }) estimated_usd!: UsdRangeDto;
  /** The caller's month. */
  @ApiProperty({ type: BudgetDto }) budget!: BudgetDto;
  /** False: `POST /api/scraper/jobs` with this body would answer 402 (a query's maximum, or an area's minimum, exceeds what is left). */
  @ApiProperty() affordable!: boolean;

  static from(estimate: ScrapeEstimate, budget: BudgetDto): ScrapeEstimateDto {
    const max = toUsd(estimate.usdMicros.max);
    return {
      coverage: estimate.coverage,
      provider: estimate.provider,
      sku: estimate.sku,
      from_cache: estimate.fromCache,
      cached_cells: estimate.cachedCells,
      requests: estimate.requests,
      estimated_usd: { min: toUsd(estimate.usdMicros.min), max },
      budget,
      // As admission decides: a query's most, an area's least (an area job stops at the budget).
      affordable:
        budget.remaining_usd === null ||
        (estimate.coverage === 'area' ? toUsd(estimate.usdMicros.min) : max) <=
          budget.remaining_usd,
    };
  }
}

export class RectanglesProgressDto {
  /** Cells searched, taken from the cache, or split without a search (predicted full) so far. */
  @ApiProperty() done!: number;
  /** Cells known so far (grows as full cells are split into four). */
  @ApiProperty() known!: number;
}

export class RectanglesResultDto extends RectanglesProgressDto {
  /** Cells taken from the cache (no request). */
  @ApiProperty() cached!: number;
}

export class ScrapeResultDto {
  /** Places found. */
  @ApiProperty() total!: number;
  /** Newly stored in your list. */
  @ApiProperty() inserted!: number;
  /** Skipped: you already had a place with that name in that kecamatan. */
  @ApiProperty() duplicates!: number;
  /** Area mode: `complete` (every cell of the area searched) or `truncated`. */
  @ApiProperty({ required: false, enum: ['complete', 'truncated'] })
  coverage?: 'complete' | 'truncated';
  /**
   * Why an area job stopped early: `budget` (the spending budget refused a request), `requests`
   * (SCRAPER_AREA_MAX_REQUESTS), `depth` (a cell still full at SCRAPER_AREA_MAX_DEPTH), `max_results`.
   */
  @ApiProperty({
    required: false,
    nullable: true,
    enum: ['budget', 'requests', 'depth', 'max_results'],
  })
  truncated_reason?: 'budget' | 'requests' | 'depth' | 'max_results' | null;
  /** Area mode: billed requests the job made (cells from the cache cost none). */
  @ApiProperty({ required: false }) requests?: number;
  /** Area mode: rectangles (grid cells) done, known, and taken from the cache. */
  @ApiProperty({ required: false, type: () => RectanglesResultDto })
  rectangles?: RectanglesResultDto;
}

export class ScrapeJobAcceptedDto {
  @ApiProperty({ format: 'uuid' }) job_id!: string;
  @ApiProperty({ enum: ['queued'] }) status!: 'queued';
}

export class ScrapeJobCachedDto {
  @ApiProperty({ format: 'uuid' }) job_id!: string;
  @ApiProperty({ enum: ['completed'] }) status!: 'completed';
  @ApiProperty({ enum: [true] }) cached!: true;
  @ApiProperty({ type: ScrapeResultDto }) result!: ScrapeResultDto;
  /** Always 0 requests, $0: the cache answered. */
  @ApiProperty({ type: JobCostDto }) cost!: JobCostDto;
}

export class ScraperJobDto {
  @ApiProperty({ format: 'uuid' }) job_id!: string;
  @ApiProperty({ enum: SCRAPER_JOB_STATUSES }) status!: ScraperJobStatus;
  /** 0–100. */
  @ApiProperty() progress!: number;
  /** Attempts started so far (at most 3). */
  @ApiProperty() attempts_made!: number;
  /** Why the job failed, or why the last attempt failed while it waits for a retry. */
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty({ type: ScrapeResultDto, nullable: true }) result!: ScrapeResultDto | null;
  /** Answered from the cache. */
  @ApiProperty() cached!: boolean;
  @ApiProperty() keyword!: string;
  @ApiProperty() location!: string;
  @ApiProperty({ type: String, nullable: true }) kecamatan!: string | null;
  @ApiProperty() max_results!: number;
  @ApiProperty({ enum: SCRAPE_COVERAGES }) coverage!: ScrapeCoverage;
  /** Area mode, while it runs and after: cells done / known. */
  @ApiProperty({ type: RectanglesProgressDto, nullable: true })
  rectangles!: RectanglesProgressDto | null;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) started_at!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finished_at!: string | null;
  /** The provider requests this job paid for, over all its attempts. */
  @ApiProperty({ type: JobCostDto }) cost!: JobCostDto;
  /** The batch it belongs to, when it was asked with a list of kecamatan. */
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) batch_id!: string | null;
  /**
   * The provider that served it: the one routed to for the owner's role, or the fallback when that
   * one was unavailable; for a cache hit, the provider whose cached answer it got. Null until served.
   */
  @ApiProperty({ type: String, enum: ['python-api', 'google-places'], nullable: true })
  provider!: 'python-api' | 'google-places' | null;

  static from(job: ScraperJob): ScraperJobDto {
    return {
      job_id: job.id,
      status: job.status,
      progress: job.progress,
      attempts_made: job.attemptsMade,
      error: job.error,
      result: job.result,
      cached: job.cached,
      keyword: job.keyword,
      location: job.location,
      kecamatan: job.kecamatan,
      max_results: job.maxResults,
      coverage: job.coverage ?? 'query',
      rectangles:
        job.rectanglesKnown === null || job.rectanglesKnown === undefined
          ? null
          : { done: job.rectanglesDone ?? 0, known: job.rectanglesKnown },
      created_at: job.createdAt.toISOString(),
      started_at: job.startedAt?.toISOString() ?? null,
      finished_at: job.finishedAt?.toISOString() ?? null,
      cost: JobCostDto.from(job.costRequests, job.costUsdMicros),
      batch_id: job.batchId ?? null,
      provider: job.provider ?? null,
    };
  }
}

export class ScraperJobFilterDto {
  @ApiProperty({ required: false, enum: SCRAPER_JOB_STATUSES })
  @IsOptional()
  @IsIn(SCRAPER_JOB_STATUSES)
  status?: ScraperJobStatus;
}

export class ListScraperJobsQueryDto extends IntersectionType(PageQueryDto, ScraperJobFilterDto) {}

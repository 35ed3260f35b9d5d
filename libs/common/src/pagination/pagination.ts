import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { Type as TransformType } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';

/**
 * The highest page number accepted. Without a bound `page=1e20` passes `@IsInt()` and the
 * offset overflows PostgreSQL's bigint (a 500); a million pages of 100 is far beyond any
 * real list and keeps every offset an exact integer.
 */
export const MAX_PAGE = 1_000_000;
export const MAX_PAGE_LIMIT = 100;

export class PageQueryDto {
  /** Page number, from 1 to 1,000,000. */
  @ApiProperty({ required: false, default: 1, minimum: 1, maximum: MAX_PAGE })
  @TransformType(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  page: number = 1;

  /** Items per page, at most 100. */
  @ApiProperty({ required: false, default: 20, minimum: 1, maximum: MAX_PAGE_LIMIT })
  @TransformType(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_LIMIT)
  limit: number = 20;
}

export class PageMeta {
  @ApiProperty() page!: number;
  @ApiProperty() limit!: number;
  @ApiProperty() total!: number;
}

export interface Paginated<T> {
  data: T[];
  meta: PageMeta;
}

export function paginate<T>(data: T[], total: number, query: PageQueryDto): Paginated<T> {
  return { data, meta: { page: query.page, limit: query.limit, total } };
}

export function pageOffset(query: PageQueryDto): { skip: number; take: number } {
  return { skip: (query.page - 1) * query.limit, take: query.limit };
}

/** Documents a `{data: Model[], meta}` answer. */
export function ApiPaginatedResponse(model: Type<unknown>) {
  return applyDecorators(
    ApiExtraModels(PageMeta, model),
    ApiOkResponse({
      schema: {
        type: 'object',
        required: ['data', 'meta'],
        properties: {
          data: { type: 'array', items: { $ref: getSchemaPath(model) } },
          meta: { $ref: getSchemaPath(PageMeta) },
        },
      },
    }),
  );
}

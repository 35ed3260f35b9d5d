import { ApiProperty, IntersectionType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { IsSafeText, PageMeta, PageQueryDto } from '@app/common';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export const PLACE_SORTS = [
  'created_at',
  '-created_at',
  'name',
  '-name',
  'rating',
  '-rating',
  'reviews_count',
  '-reviews_count',
] as const;
export type PlaceSort = (typeof PLACE_SORTS)[number];

/** Filters shared by the list and the export. */
export class PlaceFilterDto {
  /** Places found for this keyword (case-insensitive, exact). */
  @ApiProperty({ required: false, example: 'coffee shop' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsSafeText()
  @MinLength(1)
  @MaxLength(200)
  keyword?: string;

  /** Places found in this location (case-insensitive, exact). */
  @ApiProperty({ required: false, example: 'Jakarta Selatan' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsSafeText()
  @MinLength(1)
  @MaxLength(200)
  location?: string;

  /** Places in this kecamatan (district; case-insensitive, exact). */
  @ApiProperty({ required: false, example: 'Kebayoran Baru' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsSafeText()
  @MinLength(1)
  @MaxLength(200)
  kecamatan?: string;

  /**
   * Name contains this text, ignoring case and accents ("kopi" finds "Kopi Kenangan",
   * "Warung KOPI" and "Kópi Susu"). Served by a trigram index from 3 characters on.
   */
  @ApiProperty({ required: false, example: 'kopi' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @IsSafeText()
  @MinLength(1)
  @MaxLength(200)
  q?: string;

  /** Admins only: one user's places. */
  @ApiProperty({ required: false, format: 'uuid' })
  @IsOptional()
  @IsUUID()
  user_id?: string;

  /** Sort field; a leading `-` sorts descending. Default `-created_at` (newest first). */
  @ApiProperty({ required: false, enum: PLACE_SORTS, default: '-created_at' })
  @IsOptional()
  @IsIn(PLACE_SORTS)
  sort: PlaceSort = '-created_at';
}

/** `?page&limit` or `?cursor&limit`, plus the filters. */
export class ListPlacesQueryDto extends IntersectionType(PageQueryDto, PlaceFilterDto) {
  /**
   * Continue after the previous page: pass its `meta.next_cursor` with the same filters and
   * sort. Each next page costs the same however deep it is (the frontend's infinite scroll);
   * `page` is ignored when a cursor is given. Rows inserted meanwhile never make a cursor
   * page skip or repeat a row.
   */
  @ApiProperty({ required: false, example: 'WyItY3JlYXRlZF9hdCIsIjIwMjYt…' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor must be a meta.next_cursor value' })
  cursor?: string;
}

/** `meta` of a places page: the contract's `{page, limit, total}` plus the next page's cursor. */
export class PlacePageMeta extends PageMeta {
  /** Pass as `?cursor=` for the next page; null on the last page. */
  @ApiProperty({ type: String, nullable: true })
  next_cursor!: string | null;
}

export const EXPORT_FORMATS = ['csv', 'json', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const bool = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

export class ExportPlacesQueryDto extends PlaceFilterDto {
  /**
   * `csv`, `json`, or `xlsx` (an Excel workbook: numbers as numbers, phone numbers as text,
   * header row frozen and filterable). Cells starting with `=`, `+`, `-`, `@`, tab or CR are
   * neutralised with a leading `'` in CSV and stored as plain text in XLSX (OWASP CSV injection).
   */
  @ApiProperty({ enum: EXPORT_FORMATS, default: 'csv' })
  @IsOptional()
  @IsIn(EXPORT_FORMATS)
  format: ExportFormat = 'csv';

  /** CSV only: start with a UTF-8 byte-order mark, so Excel reads accented addresses right. */
  @ApiProperty({ required: false, default: false })
  @IsOptional()
  @Transform(bool)
  @IsBoolean()
  bom: boolean = false;
}

export class PlaceDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, nullable: true }) address!: string | null;
  @ApiProperty({ type: String, nullable: true }) phone!: string | null;
  @ApiProperty({ type: String, nullable: true }) website!: string | null;
  @ApiProperty({ type: Number, nullable: true, example: 4.6 }) rating!: number | null;
  @ApiProperty({ type: Number, nullable: true }) reviews_count!: number | null;
  @ApiProperty({ type: String, nullable: true }) category!: string | null;
  @ApiProperty({ type: Number, nullable: true }) latitude!: number | null;
  @ApiProperty({ type: Number, nullable: true }) longitude!: number | null;
  @ApiProperty({ type: String, nullable: true }) google_place_id!: string | null;
  @ApiProperty({ type: String, nullable: true }) kecamatan!: string | null;
  @ApiProperty() location!: string;
  @ApiProperty() keyword!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
}

/** The columns of a PlaceDto, in export order. */
export const PLACE_FIELDS = [
  'id',
  'name',
  'address',
  'phone',
  'website',
  'rating',
  'reviews_count',
  'category',
  'latitude',
  'longitude',
  'google_place_id',
  'kecamatan',
  'location',
  'keyword',
  'created_at',
] as const satisfies ReadonlyArray<keyof PlaceDto>;

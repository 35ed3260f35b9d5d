import { ApiProperty } from '@nestjs/swagger';

export class ServiceLinksDto {
  @ApiProperty({ example: '/api/docs', description: 'Swagger UI' })
  docs!: string;

  @ApiProperty({ example: '/api/docs-json', description: 'The OpenAPI document' })
  openapi!: string;

  @ApiProperty({ example: '/api/health', description: 'Database and Redis checks' })
  health!: string;
}

export class ServiceInfoDto {
  @ApiProperty({ example: 'gm-backend' })
  name!: string;

  @ApiProperty({ example: '1.0.0', description: 'The running build (package.json version)' })
  version!: string;

  @ApiProperty({ type: ServiceLinksDto })
  links!: ServiceLinksDto;
}

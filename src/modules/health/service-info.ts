import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceInfoDto } from './dto/service-info.dto.js';

/**
 * The nearest package.json above this file: the repository's in development and tests
 * (src/…), and the image's /app/package.json in production (dist/src/…).
 */
function readPackageJson(): { name: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + import.meta.url);
    dir = parent;
  }
}

/** Read once at start-up; `GET /` answers this object as it is. */
export function loadServiceInfo(apiPrefix: string): ServiceInfoDto {
  const { name, version } = readPackageJson();
  return {
    name,
    version,
    links: {
      docs: `/${apiPrefix}/docs`,
      openapi: `/${apiPrefix}/docs-json`,
      health: `/${apiPrefix}/health`,
    },
  };
}

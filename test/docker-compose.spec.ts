import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// No Docker engine runs here: the compose file is checked as data.
describe('docker/docker-compose.yml', () => {
  const compose = parse(readFileSync('docker/docker-compose.yml', 'utf8'), { merge: true });

  it('names postgres, redis, api and worker (plus prometheus and grafana under the monitoring profile), each with a healthcheck', () => {
    const byDefault = Object.keys(compose.services).filter(
      (name) => !compose.services[name].profiles,
    );
    expect(byDefault.sort()).toEqual(['api', 'postgres', 'redis', 'worker']);
    expect(compose.services.prometheus.profiles).toEqual(['monitoring']);
    expect(compose.services.grafana.profiles).toEqual(['monitoring']);
    for (const service of Object.values<any>(compose.services))
      expect(service.healthcheck?.test).toBeTruthy();
  });

  it('runs the api and the worker from the one Dockerfile, as their roles', () => {
    const { api, worker } = compose.services;
    expect(api.build).toMatchObject({ dockerfile: 'docker/Dockerfile', target: 'api' });
    expect(worker.build).toMatchObject({ dockerfile: 'docker/Dockerfile', target: 'worker' });
    expect(api.environment.APP_ROLE).toBe('api');
    expect(worker.environment.APP_ROLE).toBe('worker');
    for (const app of [api, worker]) {
      expect(app.depends_on.postgres.condition).toBe('service_healthy');
      expect(app.depends_on.redis.condition).toBe('service_healthy');
      expect(app.environment.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(app.environment.REDIS_URL).toMatch(/\/\/redis:6379/);
    }
  });

  it('keeps data in named volumes', () => {
    expect(Object.keys(compose.volumes)).toEqual(
      expect.arrayContaining(['postgres-data', 'redis-data']),
    );
    expect(compose.services.postgres.volumes[0]).toMatch(/^postgres-data:/);
    expect(compose.services.redis.volumes[0]).toMatch(/^redis-data:/);
  });

  it('builds non-root api and worker targets in a multi-stage Dockerfile', () => {
    const dockerfile = readFileSync('docker/Dockerfile', 'utf8');
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^FROM runtime AS api$/m);
    expect(dockerfile).toMatch(/^FROM runtime AS worker$/m);
  });
});

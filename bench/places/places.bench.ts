/**
 * Places at a million rows: `npm run bench:places` (builds first). In its own database
 * (gm_bench_places, recreated, dropped at the end) and Redis prefix:
 *   1. seeds 1,000,000 places with one INSERT … SELECT generate_series — 200,000 for one user
 *      over 40 kecamatan and 50 keywords, 800,000 over 49 other users — under the schema as it
 *      was, then applies the places-indexes migration and times each CREATE INDEX CONCURRENTLY;
 *   2. runs the compiled API (one process, NODE_ENV=production) and measures each request of
 *      issue 8's table through HTTP with autocannon at 8 connections: p50/p99/req/s, the API's
 *      CPU time per request, and one "cold" request right after the owner's places changed
 *      (totals and page starts recomputed);
 *   3. exports the user's 200,000 places as CSV, JSON and XLSX: rows/s and the API's peak RSS;
 *   4. stores places with de-duplication through PlacesService (new rows, then all duplicates)
 *      with the new indexes in place: rows/s.
 * Prints a table and writes bench/results/places-<time>.json.
 */
import autocannon from 'autocannon';
import * as argon2 from 'argon2';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { DataSource, type Logger as OrmLogger } from 'typeorm';
import type { RedisService } from '@app/common';
import type { Place } from '@app/google-maps';
import { PlacesSearchIndexes1764000500000 } from '../../src/database/migrations/1764000500000-places-search-indexes.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { ensureDatabaseExists } from '../../src/database/prepare-database.js';
import { typeOrmOptions } from '../../src/database/typeorm-options.js';
import { PlaceListCache } from '../../src/modules/places/place-list-cache.js';
import type { PlaceReceipts } from '../../src/modules/places/place-receipts.js';
import { PlacesService } from '../../src/modules/places/places.service.js';
import { dropDatabase } from '../../test/utils/cleanup.js';
import { dropBenchData } from '../bench-data.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // dist/bench/places → repo root
const DB_NAME = 'gm_bench_places';
const ADMIN_URL =
  process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE_URL = ADMIN_URL.replace(/\/[^/]*$/, `/${DB_NAME}`);
const REDIS_URL = 'redis://127.0.0.1:6379';
const PREFIX = `bench-places-${process.pid}`;
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = 8;
const PASSWORD = 'bench-password-long-enough';
const ADMIN_EMAIL = 'bench-admin@example.com';
const userId = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** 1M places; created_at is a permutation of g, so every user's places spread over the year. */
const SEED_PLACES = `
  INSERT INTO google_map_places (user_id, keyword, location, kecamatan, name, address, phone,
    rating, reviews_count, category, latitude, longitude, google_place_id, created_at)
  SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(CASE WHEN g <= 200000 THEN 0 ELSE 1 + g % 49 END), 12, '0'))::uuid,
         'kw-' || (g % 50), 'Jakarta', 'Kec-' || (g % 40),
         (ARRAY['Warung','Toko','Kopi','Kópi','Rumah Makan','Bengkel','Apotek','Salon','Bakso','Café'])[1 + g % 10]
           || ' ' || (ARRAY['Makmur','Jaya','Sentosa','Abadi','Sejahtera','Berkah','Indah','Baru','Lestari','Mulia',
                            'Sumber','Rejeki','Mandiri','Maju','Bersama','Utama','Agung','Murni','Sari','Karya',
                            'Bahagia','Cahaya','Harapan','Mekar','Permata','Putra','Putri','Sinar','Surya','Tunggal',
                            'Bintang','Citra','Damai','Family','Gemilang','Hikmah','Intan','Kencana','Lancar','Mitra',
                            'Nusantara','Pelangi','Ramai','Setia','Timur','Barat','Selatan','Utara','Raya','Kita'])[1 + (g / 10) % 50]
           || ' ' || g,
         'Jl. Contoh No. ' || g || ', Jakarta', '+62 21 ' || (5000000 + g),
         CASE WHEN g % 7 = 0 THEN NULL ELSE round((1 + (g % 41) / 10.0)::numeric, 1)::real END,
         CASE WHEN g % 9 = 0 THEN NULL ELSE ((g::bigint * 7919) % 5000)::int END,
         'Cafe', -6.2 + (g % 1000) / 10000.0, 106.8 + (g % 997) / 10000.0, 'g-' || g,
         timestamptz '2026-01-01' + (((g::bigint * 611953) % 1000000) / 20) * interval '30 seconds'
    FROM generate_series(1, 1000000) g`;

const log = (message: string) => console.log(`[bench] ${message}`);
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

function procStatus(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024; // MB
}
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Stores 40,000 new places for one user (4 jobs at a time, batches of 1,000, as scrape jobs
 * do), then the same again (all duplicates), through PlacesService: rows/s of each.
 */
async function measureStore(ds: DataSource, redis: Redis, tag: string) {
  const redisService = {
    client: redis,
    key: (...parts: Array<string | number>) => [PREFIX, ...parts].join(':'),
  } as unknown as RedisService;
  const places = new PlacesService(
    ds,
    undefined as unknown as PlaceReceipts,
    new PlaceListCache(redisService),
  );
  const batch = (n: number): Place[] =>
    Array.from({ length: 1000 }, (_, i) => ({
      name: `Bench Store ${tag} ${n}-${i}`,
      address: `Jl. Bench ${i}`,
      phone: '+62 21 555',
      website: null,
      rating: 4.2,
      reviewsCount: i,
      category: 'Cafe',
      latitude: -6.2,
      longitude: 106.8,
      googlePlaceId: null,
    }));
  const owner = {
    userId: userId(1),
    jobId: null,
    keyword: 'kw-1',
    location: 'Jakarta',
    kecamatan: 'Kec-1',
  };
  const run = async () => {
    const t0 = process.hrtime.bigint();
    await Promise.all(
      [0, 1, 2, 3].map(async (lane) => {
        for (let n = lane; n < 40; n += 4) await places.store(owner, batch(n));
      }),
    );
    return Math.round(40_000 / seconds(t0));
  };
  const new_rows_s = await run();
  return { rows: 40_000, new_rows_s, duplicate_rows_s: await run() };
}

/**
 * CPU seconds of the PostgreSQL backends serving the bench database (the API's pool), per
 * backend: a delta counts backends that started meanwhile from zero (one that exited is missed).
 */
async function pgCpu(ds: DataSource): Promise<Map<number, number>> {
  const rows = await ds.query<Array<{ pid: number }>>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [DB_NAME],
  );
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      cpu.set(pid, cpuSeconds(pid));
    } catch {
      // exited meanwhile
    }
  }
  return cpu;
}
async function pgCpuSince(ds: DataSource, before: Map<number, number>): Promise<number> {
  let total = 0;
  for (const [pid, seconds] of await pgCpu(ds)) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/** Times every statement of the migrations it runs (TypeORM reports a query's duration only as "slow"). */
class StatementTimer implements OrmLogger {
  readonly times: Array<{ query: string; ms: number }> = [];
  logQuerySlow(ms: number, query: string) {
    this.times.push({ query, ms });
  }
  logQuery() {}
  logQueryError() {}
  logSchemaBuild() {}
  logMigration() {}
  log() {}
}

async function migrate(migrations: typeof MIGRATIONS, timer?: StatementTimer) {
  const options = typeOrmOptions({ database: { url: DATABASE_URL, poolSize: 4 } });
  const ds = new DataSource({
    ...options,
    extra: { ...options.extra, statement_timeout: 0 }, // the seed takes minutes
    migrations,
    ...(timer ? { logger: timer, maxQueryExecutionTime: 1 } : {}),
  });
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}

/** The statements the list runs (as PlacesService writes them), with EXPLAIN (ANALYZE): which index serves each. */
async function explainAll(ds: DataSource): Promise<string> {
  const cols = 'p.id, p.name, p.created_at';
  const user = `p.user_id = '${userId(0)}'`;
  const q = `places_fold(p.name) LIKE places_fold('%makmur%')`;
  const desc = 'ORDER BY p.created_at DESC, p.id DESC LIMIT 21';
  const statements: Array<[string, string]> = [
    ['user · first page', `SELECT ${cols} FROM google_map_places p WHERE ${user} ${desc}`],
    ['user · ?q=makmur', `SELECT ${cols} FROM google_map_places p WHERE ${user} AND ${q} ${desc}`],
    [
      'user · ?q=makmur 1234 (rare)',
      `SELECT ${cols} FROM google_map_places p WHERE ${user} AND places_fold(p.name) LIKE places_fold('%makmur 1234%') ${desc}`,
    ],
    [
      'user · ?kecamatan=Kec-7',
      `SELECT ${cols} FROM google_map_places p WHERE ${user} AND lower(coalesce(p.kecamatan, '')) = lower('Kec-7') ${desc}`,
    ],
    [
      'user · ?keyword=kw-3',
      `SELECT ${cols} FROM google_map_places p WHERE ${user} AND lower(p.keyword) = lower('kw-3') ${desc}`,
    ],
    [
      'user · ?sort=name',
      `SELECT ${cols} FROM google_map_places p WHERE ${user} ORDER BY lower(p.name) ASC, p.id ASC LIMIT 21`,
    ],
    [
      'user · ?page=5000: where it starts (once per change)',
      `SELECT p.id, (p.created_at)::text FROM google_map_places p WHERE ${user} ${desc.replace('LIMIT 21', 'LIMIT 1 OFFSET 99979')}`,
    ],
    [
      'user · a cursor page (keyset)',
      `SELECT ${cols} FROM google_map_places p WHERE ${user} AND (p.created_at, p.id) < ('2026-06-01'::timestamptz, '00000000-0000-0000-0000-000000000000'::uuid) ${desc}`,
    ],
    ['user · total (once per change)', `SELECT count(*) FROM google_map_places p WHERE ${user}`],
    [
      'user · ?q=makmur total (once per change)',
      `SELECT count(*) FROM google_map_places p WHERE ${user} AND ${q}`,
    ],
    ['admin · first page', `SELECT ${cols} FROM google_map_places p WHERE true ${desc}`],
    ['admin · ?q=makmur', `SELECT ${cols} FROM google_map_places p WHERE ${q} ${desc}`],
    ['admin · total (once per change)', `SELECT count(*) FROM google_map_places p WHERE true`],
    [
      'admin · ?q=makmur total (once per change)',
      `SELECT count(*) FROM google_map_places p WHERE ${q}`,
    ],
  ];
  let text = '';
  for (const [name, sql] of statements) {
    const plan = await ds.query<Array<Record<string, string>>>(
      `EXPLAIN (ANALYZE, COSTS OFF) ${sql}`,
    );
    text += `-- ${name}\n${plan.map((line) => line['QUERY PLAN']).join('\n')}\n\n`;
  }
  return text;
}

async function main() {
  const results: Record<string, unknown> = {
    started_at: new Date().toISOString(),
    machine: { cpus: cpus().length, loadavg_before: loadavg().map((x) => round(x, 2)) },
    settings: { connections: CONNECTIONS, duration_s: DURATION_S, node_env: 'production' },
  };

  // ——— 1. the data set, then the migration on it ———
  await dropDatabase(ADMIN_URL, DB_NAME);
  await ensureDatabaseExists(DATABASE_URL);
  const before = MIGRATIONS.filter((m) => m !== PlacesSearchIndexes1764000500000);
  const seedDs = await migrate(before);
  const hash = await argon2.hash(PASSWORD);
  await seedDs.query(
    `INSERT INTO users (id, email, password_hash) SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid,
       'bench-' || u || '@example.com', $1 FROM generate_series(0, 49) u`,
    [hash],
  );
  let started = process.hrtime.bigint();
  await seedDs.query(SEED_PLACES);
  const seedSeconds = seconds(started);
  await seedDs.query('VACUUM ANALYZE google_map_places');
  log(`seeded 1,000,000 places in ${round(seedSeconds)} s`);
  // The same store, with the old indexes then the new ones: the ratio holds whatever the noise.
  const redis = new Redis(REDIS_URL);
  const storeBefore = await measureStore(seedDs, redis, 'before');
  log(
    `store before the migration: new ${storeBefore.new_rows_s} rows/s, duplicates ${storeBefore.duplicate_rows_s} rows/s`,
  );
  await seedDs.destroy();

  const timer = new StatementTimer();
  started = process.hrtime.bigint();
  const ds = await migrate(MIGRATIONS, timer);
  const migrationSeconds = seconds(started);
  const indexBuilds = timer.times
    .map(({ query, ms }) => ({ index: /INDEX CONCURRENTLY "([^"]+)"/.exec(query)?.[1], query, ms }))
    .filter((t) => t.index && t.query.startsWith('CREATE'))
    .map((t) => ({ index: t.index, seconds: round(t.ms / 1000, 2) }));
  // What autovacuum does on a live table after the bulk load: fresh statistics and visibility map.
  await ds.query('VACUUM ANALYZE google_map_places');
  log(`migration on 1M rows: ${round(migrationSeconds)} s`);
  const plans = await explainAll(ds);
  results.seed = {
    places: 1_000_000,
    seconds: round(seedSeconds),
    migration_seconds: round(migrationSeconds),
  };
  results.index_builds = indexBuilds;

  // ——— 2. the API under load ———
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const api = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      APP_ROLE: 'api',
      PORT: String(port),
      DATABASE_URL,
      REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      JWT_SECRET: 'bench-jwt-secret-long-enough-1234',
      CRAWLER_WEBHOOK_API_KEY: 'bench-webhook-key',
      PYTHON_SCRAPER_API_KEY: 'bench-key',
      ADMIN_EMAIL,
      ADMIN_PASSWORD: PASSWORD,
    },
  });
  try {
    for (let i = 0; ; i++) {
      if ((await fetch(`${base}/api/health`).catch(() => null))?.ok) break;
      if (i > 300) throw new Error('the API did not start');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const login = async (email: string) =>
      (
        (await (
          await fetch(`${base}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email, password: PASSWORD }),
          })
        ).json()) as { access_token: string }
      ).access_token;
    const user = { token: await login('bench-0@example.com'), scope: userId(0) };
    const admin = { token: await login(ADMIN_EMAIL), scope: 'all' };
    const get = async (path: string, token: string) =>
      (await (
        await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { meta: { total: number; next_cursor: string | null } };
    const deep = await get('/api/places?page=5000', user.token);

    const rows: Array<[string, string, { token: string; scope: string }]> = [
      ['user · first page', '/api/places?limit=20', user],
      ['user · ?q=makmur', '/api/places?q=makmur', user],
      ['user · ?kecamatan=Kec-7', '/api/places?kecamatan=Kec-7', user],
      ['user · ?keyword=kw-3', '/api/places?keyword=kw-3', user],
      ['user · ?sort=name', '/api/places?sort=name', user],
      ['user · ?page=5000', '/api/places?page=5000', user],
      ['user · ?cursor= (after page 5000)', `/api/places?cursor=${deep.meta.next_cursor}`, user],
      ['admin · first page (1M)', '/api/places', admin],
      ['admin · ?q=makmur (1M)', '/api/places?q=makmur', admin],
    ];
    const lists = [];
    for (const [name, path, who] of rows) {
      // Cold: the owner's places just changed, so the total (and a deep page's start) are recomputed.
      await redis.incr(`${PREFIX}:places:generation:${who.scope}`);
      const t0 = process.hrtime.bigint();
      const answer = await get(path, who.token);
      const coldMs = seconds(t0) * 1000;
      const headers = { authorization: `Bearer ${who.token}` };
      await autocannon({ url: `${base}${path}`, connections: CONNECTIONS, duration: 1, headers });
      const cpu0 = cpuSeconds(api.pid!);
      const pg0 = await pgCpu(ds);
      const r = await autocannon({
        url: `${base}${path}`,
        connections: CONNECTIONS,
        duration: DURATION_S,
        headers,
      });
      const perRequest = (s: number) => round((s * 1000) / Math.max(1, r.requests.total), 2);
      const cpuMs = perRequest(cpuSeconds(api.pid!) - cpu0);
      const pgMs = perRequest(await pgCpuSince(ds, pg0));
      const row = {
        request: name,
        path,
        total: answer.meta.total,
        p50_ms: r.latency.p50,
        p99_ms: r.latency.p99,
        req_s: round(r.requests.average),
        non_2xx: r.non2xx + r.errors,
        api_cpu_ms_per_req: cpuMs,
        pg_cpu_ms_per_req: pgMs,
        cold_ms: round(coldMs),
      };
      lists.push(row);
      log(
        `${name}: p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, ${row.req_s} req/s (cold ${row.cold_ms} ms, total ${row.total})`,
      );
    }
    results.lists = lists;

    // ——— 3. exports of the user's 200,000 places ———
    const exports = [];
    for (const format of ['csv', 'json', 'xlsx']) {
      const rssBefore = procStatus(api.pid!, 'VmRSS');
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, procStatus(api.pid!, 'VmRSS'))), 25);
      const t0 = process.hrtime.bigint();
      const cpu0 = cpuSeconds(api.pid!);
      const pg0 = await pgCpu(ds);
      const res = await fetch(`${base}/api/places/export?format=${format}`, {
        headers: { authorization: `Bearer ${user.token}` },
      });
      let bytes = 0;
      for await (const chunk of res.body!) bytes += (chunk as Uint8Array).length;
      const s = seconds(t0);
      clearInterval(sampler);
      const apiCpu = cpuSeconds(api.pid!) - cpu0;
      const cpu = apiCpu + (await pgCpuSince(ds, pg0));
      const row = {
        format,
        rows: 200_000,
        seconds: round(s, 2),
        rows_s: Math.round(200_000 / s),
        mb: round(bytes / 1048576),
        rss_before_mb: round(rssBefore),
        rss_peak_mb: round(peak),
        rows_per_cpu_s: Math.round(200_000 / cpu),
        rows_per_api_cpu_s: Math.round(200_000 / apiCpu),
      };
      exports.push(row);
      log(
        `export ${format}: ${row.rows_s} rows/s (${row.seconds} s, ${row.mb} MB), RSS ${row.rss_before_mb} → peak ${row.rss_peak_mb} MB`,
      );
    }
    results.exports = exports;

    // ——— 4. storing with de-duplication, with the new indexes ———
    const after = await measureStore(ds, redis, 'after');
    results.store = { before_migration: storeBefore, after_migration: after };
    log(
      `store after the migration: new ${after.new_rows_s} rows/s, duplicates ${after.duplicate_rows_s} rows/s`,
    );
    await ds.destroy();
  } finally {
    api.kill('SIGTERM');
    await new Promise((resolve) => api.once('exit', resolve));
    redis.disconnect();
  }

  results.machine = {
    ...(results.machine as object),
    loadavg_after: loadavg().map((x) => round(x, 2)),
  };
  console.log('\nrequest | p50 ms | p99 ms | req/s | CPU ms/req API + PG | cold ms | total');
  console.log('---|---|---|---|---|---|---');
  for (const r of results.lists as Array<Record<string, string | number>>)
    console.log(
      `${r.request} | ${r.p50_ms} | ${r.p99_ms} | ${r.req_s} | ${r.api_cpu_ms_per_req} + ${r.pg_cpu_ms_per_req} | ${r.cold_ms} | ${r.total}`,
    );
  console.log('\nexport | rows/s | rows per CPU-s | s | MB | RSS before → peak MB');
  for (const r of results.exports as Array<Record<string, string | number>>)
    console.log(
      `${r.format} | ${r.rows_s} | ${r.rows_per_cpu_s} (API alone ${r.rows_per_api_cpu_s}) | ${r.seconds} | ${r.mb} | ${r.rss_before_mb} → ${r.rss_peak_mb}`,
    );
  console.log('\nstore with de-duplication | new rows/s | duplicate rows/s');
  for (const [when, r] of Object.entries(results.store as Record<string, Record<string, number>>))
    console.log(`${when} | ${r.new_rows_s} | ${r.duplicate_rows_s}`);
  console.log('\nindex | build s (CONCURRENTLY, 1M rows)');
  for (const r of indexBuilds) console.log(`${r.index} | ${r.seconds}`);
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `places-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  writeFileSync(file.replace(/\.json$/, '-plans.txt'), plans);
  log(`results: ${file}`);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() =>
    dropBenchData({
      adminUrl: ADMIN_URL,
      database: DB_NAME,
      redisUrl: REDIS_URL,
      redisPrefix: PREFIX,
    }),
  );

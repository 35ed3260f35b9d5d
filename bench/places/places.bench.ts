/**
 * Places at a million rows: `npm run bench:places` (builds first). In its own database
 * (gm_bench_places) and Redis prefix:
 *   1. seeds 1,000,000 places with one INSERT … SELECT generate_series (secondary indexes
 *      dropped during the load and rebuilt after: seconds, not minutes) — 200,000 for one user
 *      over 40 kecamatan and 50 keywords, 800,000 over 49 other users, the newest 40,000 of them
 *      without "makmur" (the case that made the admin's search walk) — under the schema as it
 *      was; measures the de-duplicating store there; then applies the places-indexes migration,
 *      timing each CREATE INDEX CONCURRENTLY, and EXPLAINs (ANALYZE, BUFFERS) every list query;
 *   2. runs the compiled API (one process, NODE_ENV=production) and measures each request of
 *      issue 8's table through HTTP with one client (wrk, else autocannon) at 8 connections:
 *      p50/p99/req/s, the server's CPU time per request, one "cold" request right after the
 *      owner's places changed (totals and page starts recomputed);
 *   3. exports 100,000 / 200,000 / 500,000 places as CSV and XLSX (and JSON at 200,000): rows/s,
 *      rows per CPU-second (API and PostgreSQL), the API's RSS before and at its peak (flat = the
 *      same at any size); each CSV export also on the previous path (`csv cursor`: a second API
 *      process with PLACES_CSV_EXPORT=cursor), just before the COPY path's;
 *   4. stores places with de-duplication with the new indexes: rows/s (its rows deleted after).
 * Prints every figure as tables (with the load average) and writes bench/results/places-*.json.
 *
 * BENCH_PLACES_REUSE=1: keep the seeded, migrated database at the end, and reuse it when it is
 * there (steps 2–4 only, ~2 minutes; the seed's figures are kept in the database and printed
 * again). BENCH_DURATION (s, default 10) per list request.
 */
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
import { PlacesFoldInline1764000500100 } from '../../src/database/migrations/1764000500100-places-fold-inline.js';
import { MIGRATIONS } from '../../src/database/migrations/index.js';
import { ensureDatabaseExists } from '../../src/database/prepare-database.js';
import { typeOrmOptions } from '../../src/database/typeorm-options.js';
import { PlaceListCache } from '../../src/modules/places/place-list-cache.js';
import type { PlaceReceipts } from '../../src/modules/places/place-receipts.js';
import { Q_WINDOW } from '../../src/modules/places/places.constants.js';
import { PlacesService } from '../../src/modules/places/places.service.js';
import { dropDatabase, unlinkKeys } from '../../test/utils/cleanup.js';
import { dropBenchData } from '../bench-data.js';
import { load, loadClient } from '../lib/load.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // dist/bench/places → repo root
const DB_NAME = 'gm_bench_places';
const ADMIN_URL =
  process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE_URL = ADMIN_URL.replace(/\/[^/]*$/, `/${DB_NAME}`);
const REDIS_URL = 'redis://127.0.0.1:6379';
const PREFIX = `bench-places-${process.pid}`;
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const REUSE = Boolean(process.env.BENCH_PLACES_REUSE);
const CONNECTIONS = 8;
const PASSWORD = 'bench-password-long-enough';
const ADMIN_EMAIL = 'bench-admin@example.com';
const userId = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/**
 * 1M places. created_at is a permutation of g, so every user's places spread over the dates;
 * the 40,000 with g > 960,000 (other users') are the newest and never "Makmur": a search for it
 * must not depend on matches being among the newest rows. location: half "Jakarta" (500,000),
 * a tenth "Bandung" (100,000) — the admin's export sizes.
 */
const SEED_PLACES = `
  INSERT INTO google_map_places (user_id, keyword, location, kecamatan, name, address, phone,
    rating, reviews_count, category, latitude, longitude, google_place_id, created_at)
  SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(CASE WHEN g <= 200000 THEN 0 ELSE 1 + g % 49 END), 12, '0'))::uuid,
         'kw-' || (g % 50),
         CASE WHEN g % 10 < 5 THEN 'Jakarta' WHEN g % 10 = 5 THEN 'Bandung'
              ELSE (ARRAY['Surabaya','Medan','Semarang','Makassar'])[g % 10 - 5] END,
         'Kec-' || (g % 40),
         (ARRAY['Warung','Toko','Kopi','Kópi','Rumah Makan','Bengkel','Apotek','Salon','Bakso','Café'])[1 + g % 10]
           || ' ' || (ARRAY['Makmur','Jaya','Sentosa','Abadi','Sejahtera','Berkah','Indah','Baru','Lestari','Mulia',
                            'Sumber','Rejeki','Mandiri','Maju','Bersama','Utama','Agung','Murni','Sari','Karya',
                            'Bahagia','Cahaya','Harapan','Mekar','Permata','Putra','Putri','Sinar','Surya','Tunggal',
                            'Bintang','Citra','Damai','Family','Gemilang','Hikmah','Intan','Kencana','Lancar','Mitra',
                            'Nusantara','Pelangi','Ramai','Setia','Timur','Barat','Selatan','Utara','Raya','Kita'])
                     [CASE WHEN g > 960000 THEN 2 + (g / 10) % 49 ELSE 1 + (g / 10) % 50 END]
           || ' ' || g,
         'Jl. Contoh No. ' || g || ', Jakarta', '+62 21 ' || (5000000 + g),
         CASE WHEN g % 7 = 0 THEN NULL ELSE round((1 + (g % 41) / 10.0)::numeric, 1)::real END,
         CASE WHEN g % 9 = 0 THEN NULL ELSE ((g::bigint * 7919) % 5000)::int END,
         'Cafe', -6.2 + (g % 1000) / 10000.0, 106.8 + (g % 997) / 10000.0, 'g-' || g,
         CASE WHEN g > 960000 THEN timestamptz '2026-03-01' + (g - 960000) * interval '1 second'
              ELSE timestamptz '2026-01-01' + (((g::bigint * 611953) % 1000000) / 20) * interval '30 seconds' END
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
 * do), then the same again (all duplicates), through PlacesService: rows/s of each. Its rows
 * are deleted afterwards, so a reused database stays the data set described above.
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
    const cpu0 = process.cpuUsage();
    const pg0 = await pgCpu(ds);
    await Promise.all(
      [0, 1, 2, 3].map(async (lane) => {
        for (let n = lane; n < 40; n += 4) await places.store(owner, batch(n));
      }),
    );
    const wall = seconds(t0);
    const cpu = process.cpuUsage(cpu0);
    const pg = await pgCpuSince(ds, pg0);
    // Rows per CPU-second of PostgreSQL (+ this process building the batches): what the load of other processes does not change.
    return [
      Math.round(40_000 / wall),
      Math.round(40_000 / pg),
      Math.round(40_000 / (pg + (cpu.user + cpu.system) / 1e6)),
    ];
  };
  const [new_rows_s, new_rows_per_pg_cpu_s, new_rows_per_cpu_s] = await run();
  const [duplicate_rows_s, duplicate_rows_per_pg_cpu_s] = await run();
  await ds.query(`DELETE FROM google_map_places WHERE name LIKE 'Bench Store %'`);
  return {
    rows: 40_000,
    new_rows_s,
    new_rows_per_pg_cpu_s,
    new_rows_per_cpu_s,
    duplicate_rows_s,
    duplicate_rows_per_pg_cpu_s,
  };
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

/**
 * The statements the list runs (as PlacesService writes them), with EXPLAIN (ANALYZE, BUFFERS):
 * which index serves each, and what a `q` search cost before (the planner alone) and after
 * (PlacesService.pageRows: the bounded window, then trigram first).
 */
async function explainAll(ds: DataSource): Promise<string> {
  const cols = 'p.id, p.name, p.created_at';
  const user = `p.user_id = '${userId(0)}'`;
  const q = `places_fold(p.name) LIKE places_fold('%makmur%')`;
  const desc = 'ORDER BY p.created_at DESC, p.id DESC';
  const window = (base: string, order: string) =>
    `SELECT * FROM (SELECT ${cols} FROM google_map_places p WHERE ${base} ${order} LIMIT ${Q_WINDOW}) p WHERE ${q} ${order} LIMIT 21`;
  const trigramFirst = (base: string, order: string) =>
    `SELECT * FROM (SELECT ${cols} FROM google_map_places p WHERE ${base} AND ${q} OFFSET 0) p ${order} LIMIT 21`;
  const statements: Array<[string, string]> = [
    ['user · first page', `SELECT ${cols} FROM google_map_places p WHERE ${user} ${desc} LIMIT 21`],
    [
      'user · ?q=makmur — before: the planner alone',
      `SELECT ${cols} FROM google_map_places p WHERE ${user} AND ${q} ${desc} LIMIT 21`,
    ],
    ['user · ?q=makmur — after, step 1: the window', window(user, desc)],
    ['user · ?q=makmur — after, step 2 (only if step 1 < a page)', trigramFirst(user, desc)],
    [
      'user · ?q=makmur&sort=name — trigram first (name sorts take no window)',
      trigramFirst(user, 'ORDER BY lower(p.name), p.id'),
    ],
    [
      'user · ?kecamatan=Kec-7',
      `SELECT ${cols} FROM google_map_places p WHERE ${user} AND lower(coalesce(p.kecamatan, '')) = lower('Kec-7') ${desc} LIMIT 21`,
    ],
    [
      'user · ?keyword=kw-3',
      `SELECT ${cols} FROM google_map_places p WHERE ${user} AND lower(p.keyword) = lower('kw-3') ${desc} LIMIT 21`,
    ],
    [
      'user · ?sort=name',
      `SELECT ${cols} FROM google_map_places p WHERE ${user} ORDER BY lower(p.name) ASC, p.id ASC LIMIT 21`,
    ],
    [
      'user · ?page=5000: where it starts (once per change)',
      `SELECT p.id, (p.created_at)::text FROM google_map_places p WHERE ${user} ${desc} LIMIT 1 OFFSET 99979`,
    ],
    [
      'user · a cursor page (keyset), e.g. after page 5000',
      `SELECT ${cols} FROM google_map_places p WHERE ${user} AND (p.created_at, p.id) < ('2026-01-10'::timestamptz, '00000000-0000-0000-0000-000000000000'::uuid) ${desc} LIMIT 21`,
    ],
    ['user · total (once per change)', `SELECT count(*) FROM google_map_places p WHERE ${user}`],
    [
      'user · ?q=makmur total (once per change)',
      `SELECT count(*) FROM google_map_places p WHERE ${user} AND ${q}`,
    ],
    ['admin · first page', `SELECT ${cols} FROM google_map_places p WHERE true ${desc} LIMIT 21`],
    [
      'admin · ?q=makmur — before: the planner alone',
      `SELECT ${cols} FROM google_map_places p WHERE ${q} ${desc} LIMIT 21`,
    ],
    ['admin · ?q=makmur — after, step 1: the window', window('true', desc)],
    ['admin · ?q=makmur — after, step 2 (its window held none)', trigramFirst('true', desc)],
    ['admin · total (once per change)', `SELECT count(*) FROM google_map_places p WHERE true`],
    [
      'admin · ?q=makmur total (once per change)',
      `SELECT count(*) FROM google_map_places p WHERE ${q}`,
    ],
  ];
  let text = '';
  for (const [name, sql] of statements) {
    await ds.query(`EXPLAIN (ANALYZE) ${sql}`); // warm: the figures are of a cached table, as in use
    const plan = await ds.query<Array<Record<string, string>>>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`,
    );
    text += `-- ${name}\n${plan.map((line) => line['QUERY PLAN']).join('\n')}\n\n`;
  }
  return text;
}

interface SeedFacts {
  seeded_at: string;
  seed_seconds: number;
  indexes_rebuilt_seconds: number;
  migration_seconds: number;
  index_builds: Array<{ index: string; seconds: number }>;
  store_before_migration: Record<string, number>;
  loadavg: number[];
}

/**
 * The data set, seeded and migrated: reused as it is with BENCH_PLACES_REUSE when a previous
 * run left it (its facts are in bench_places_facts), else made now.
 */
async function dataSet(
  redis: Redis,
): Promise<{ ds: DataSource; facts: SeedFacts; reused: boolean }> {
  if (REUSE && !(await ensureDatabaseExists(DATABASE_URL))) {
    const ds = await migrate(MIGRATIONS);
    const [row] = await ds.query<Array<{ facts: SeedFacts | null }>>(
      `SELECT (SELECT facts FROM bench_places_facts LIMIT 1) AS facts
        WHERE to_regclass('bench_places_facts') IS NOT NULL`,
    );
    if (row?.facts) {
      log(`reusing ${DB_NAME} seeded at ${row.facts.seeded_at} (BENCH_PLACES_REUSE)`);
      return { ds, facts: row.facts, reused: true };
    }
    await ds.destroy();
  }
  await dropDatabase(ADMIN_URL, DB_NAME);
  await ensureDatabaseExists(DATABASE_URL);
  const before = MIGRATIONS.filter(
    (m) => m !== PlacesSearchIndexes1764000500000 && m !== PlacesFoldInline1764000500100,
  );
  const seedDs = await migrate(before);
  const hash = await argon2.hash(PASSWORD);
  await seedDs.query(
    `INSERT INTO users (id, email, password_hash) SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid,
       'bench-' || u || '@example.com', $1 FROM generate_series(0, 49) u`,
    [hash],
  );
  // A bulk load: the secondary indexes are dropped, the rows inserted, the indexes rebuilt
  // (one sorted build each instead of a million random inserts into each).
  const indexes = await seedDs.query<Array<{ name: string; def: string }>>(
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes
      WHERE tablename = 'google_map_places' AND indexname <> 'google_map_places_pkey'`,
  );
  for (const { name } of indexes) await seedDs.query(`DROP INDEX "${name}"`);
  let started = process.hrtime.bigint();
  await seedDs.transaction(async (manager) => {
    await manager.query(`SET LOCAL synchronous_commit = off`);
    await manager.query(SEED_PLACES);
  });
  const seedSeconds = seconds(started);
  started = process.hrtime.bigint();
  await seedDs.query(`SET maintenance_work_mem = '256MB'`);
  for (const { def } of indexes) await seedDs.query(def);
  const rebuiltSeconds = seconds(started);
  await seedDs.query('VACUUM ANALYZE google_map_places');
  log(
    `seeded 1,000,000 places in ${round(seedSeconds)} s (+ ${round(rebuiltSeconds)} s rebuilding the schema's indexes)`,
  );
  // The same store, with the old indexes then the new ones.
  const storeBefore = await measureStore(seedDs, redis, 'before');
  log(
    `store before the migration: new ${storeBefore.new_rows_s} rows/s, duplicates ${storeBefore.duplicate_rows_s} rows/s`,
  );
  await seedDs.destroy();

  const timer = new StatementTimer();
  started = process.hrtime.bigint();
  const ds = await migrate(MIGRATIONS, timer);
  const migrationSeconds = seconds(started);
  // What autovacuum does on a live table after the bulk load: fresh statistics and visibility map.
  await ds.query('VACUUM ANALYZE google_map_places');
  log(`migration on 1M rows: ${round(migrationSeconds)} s`);
  const facts: SeedFacts = {
    seeded_at: new Date().toISOString(),
    seed_seconds: round(seedSeconds),
    indexes_rebuilt_seconds: round(rebuiltSeconds),
    migration_seconds: round(migrationSeconds),
    index_builds: timer.times
      .map(({ query, ms }) => ({
        index: /INDEX CONCURRENTLY "([^"]+)"/.exec(query)?.[1],
        query,
        ms,
      }))
      .filter((t) => t.index && t.query.startsWith('CREATE'))
      .map((t) => ({ index: t.index!, seconds: round(t.ms / 1000, 2) })),
    store_before_migration: storeBefore,
    loadavg: loadavg().map((x) => round(x, 2)),
  };
  await ds.query(`CREATE TABLE bench_places_facts (facts jsonb NOT NULL)`);
  await ds.query(`INSERT INTO bench_places_facts VALUES ($1)`, [JSON.stringify(facts)]);
  return { ds, facts, reused: false };
}

async function main() {
  const results: Record<string, unknown> = {
    started_at: new Date().toISOString(),
    machine: { cpus: cpus().length, loadavg_before: loadavg().map((x) => round(x, 2)) },
    settings: {
      connections: CONNECTIONS,
      duration_s: DURATION_S,
      node_env: 'production',
      client: loadClient(),
      q_window: Q_WINDOW,
    },
  };
  const redis = new Redis(REDIS_URL);
  const { ds, facts, reused } = await dataSet(redis);
  results.seed = { ...facts, reused };
  const plans = await explainAll(ds);

  // ——— 2. the API under load ———
  const { api, base } = await startApi();
  // The previous CSV path (PLACES_CSV_EXPORT=cursor) in a second API process, idle until step 3:
  // each CSV export is measured on both, one after the other, in the same run.
  const baseline = await startApi({ PLACES_CSV_EXPORT: 'cursor' });
  try {
    await Promise.all([apiUp(base), apiUp(baseline.base)]);
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

    const rows: Array<[string, string, { token: string; scope: string }, number]> = [
      ['user · first page, limit=20 (200k)', '/api/places?limit=20', user, 100],
      ['user · ?q=makmur', '/api/places?q=makmur', user, 100],
      ['user · ?kecamatan=Kec-7', '/api/places?kecamatan=Kec-7', user, 100],
      ['user · ?keyword=kw-3', '/api/places?keyword=kw-3', user, 100],
      ['user · ?sort=name', '/api/places?sort=name', user, 100],
      ['user · ?page=5000', '/api/places?page=5000', user, 100],
      [
        'user · ?cursor= (after page 5000)',
        `/api/places?cursor=${deep.meta.next_cursor}`,
        user,
        100,
      ],
      ['admin · first page (1M)', '/api/places', admin, 250],
      ['admin · ?q=makmur (1M; newest 40k do not match)', '/api/places?q=makmur', admin, 250],
    ];
    const lists = [];
    for (const [name, path, who, target] of rows) {
      // Cold: the owner's places just changed, so the total (and a deep page's start) are recomputed.
      await redis.incr(`${PREFIX}:places:generation:${who.scope}`);
      const t0 = process.hrtime.bigint();
      const answer = await get(path, who.token);
      const coldMs = seconds(t0) * 1000;
      const spec = {
        url: `${base}${path}`,
        connections: CONNECTIONS,
        headers: { authorization: `Bearer ${who.token}` },
      };
      await load({ ...spec, durationSeconds: 1 }); // warm-up
      const cpu0 = cpuSeconds(api.pid!);
      const pg0 = await pgCpu(ds);
      const r = await load({ ...spec, durationSeconds: DURATION_S });
      const perRequest = (s: number) => round((s * 1000) / Math.max(1, r.requests), 2);
      const row = {
        request: name,
        path,
        target_p99_ms: target,
        total: answer.meta.total,
        p50_ms: round(r.p50Ms, 1),
        p99_ms: round(r.p99Ms, 1),
        req_s: round(r.rate),
        errors: r.non2xx + r.socketErrors,
        api_cpu_ms_per_req: perRequest(cpuSeconds(api.pid!) - cpu0),
        pg_cpu_ms_per_req: perRequest(await pgCpuSince(ds, pg0)),
        cold_ms: round(coldMs),
        loadavg: round(loadavg()[0], 1),
      };
      lists.push(row);
      log(
        `${name}: p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, ${row.req_s} req/s (cold ${row.cold_ms} ms, total ${row.total}, load ${row.loadavg})`,
      );
    }
    results.lists = lists;

    // ——— 3. exports ———
    // CSV on the previous path (cursor) then on COPY, size by size: the same data, the same
    // minute of a shared machine's load, and each API process's own RSS.
    const exportRuns: Array<[string, string, string]> = [];
    for (const [path, token] of [
      ['/api/places/export?format=csv&location=Bandung', admin.token],
      ['/api/places/export?format=csv', user.token],
      ['/api/places/export?format=csv&location=Jakarta', admin.token],
    ])
      exportRuns.push(['csv cursor', path, token], ['csv', path, token]);
    exportRuns.push(
      ['json', '/api/places/export?format=json', user.token],
      ['xlsx', '/api/places/export?format=xlsx&location=Bandung', admin.token],
      ['xlsx', '/api/places/export?format=xlsx', user.token],
      ['xlsx', '/api/places/export?format=xlsx&location=Jakarta', admin.token],
    );
    // Warm-up, not timed: one small export of each format, so the first timed run does not pay
    // for the export path's first compilation (as the list runs above have a cold request each).
    for (const [url, format] of [
      [baseline.base, 'csv'],
      [base, 'csv'],
      [base, 'json'],
      [base, 'xlsx'],
    ]) {
      const res = await fetch(`${url}/api/places/export?format=${format}&kecamatan=Kec-7`, {
        headers: { authorization: `Bearer ${user.token}` },
      });
      for await (const chunk of res.body!) void chunk;
    }
    const exports = [];
    for (const [format, path, token] of exportRuns) {
      const server = format === 'csv cursor' ? baseline : { api, base };
      const pid = server.api.pid!;
      const count = (await get(path.replace('/export', '').replace(/format=\w+/, 'limit=1'), token))
        .meta.total;
      const rssBefore = procStatus(pid, 'VmRSS');
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, procStatus(pid, 'VmRSS'))), 20);
      const t0 = process.hrtime.bigint();
      const cpu0 = cpuSeconds(pid);
      const pg0 = await pgCpu(ds);
      const res = await fetch(`${server.base}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      let bytes = 0;
      for await (const chunk of res.body!) bytes += (chunk as Uint8Array).length;
      const s = seconds(t0);
      clearInterval(sampler);
      const apiCpu = cpuSeconds(pid) - cpu0;
      const pgCpuS = await pgCpuSince(ds, pg0);
      const row = {
        format,
        path,
        rows: count,
        seconds: round(s, 2),
        rows_s: Math.round(count / s),
        mb: round(bytes / 1048576),
        rss_before_mb: round(rssBefore),
        rss_peak_mb: round(peak),
        rows_per_cpu_s: Math.round(count / (apiCpu + pgCpuS)),
        rows_per_api_cpu_s: Math.round(count / apiCpu),
        rows_per_pg_cpu_s: Math.round(count / pgCpuS),
        loadavg: round(loadavg()[0], 1),
      };
      exports.push(row);
      log(
        `export ${format} ${count} rows: ${row.rows_s} rows/s (${row.seconds} s, ${row.mb} MB), per CPU-s ${row.rows_per_cpu_s} (API ${row.rows_per_api_cpu_s}, PG ${row.rows_per_pg_cpu_s}), RSS ${row.rss_before_mb} → peak ${row.rss_peak_mb} MB, load ${row.loadavg}`,
      );
    }
    results.exports = exports;

    // ——— 4. storing with de-duplication, with the new indexes ———
    const after = await measureStore(ds, redis, 'after');
    results.store = { before_migration: facts.store_before_migration, after_migration: after };
    log(
      `store after the migration: new ${after.new_rows_s} rows/s, duplicates ${after.duplicate_rows_s} rows/s`,
    );
    await ds.destroy();
  } finally {
    for (const child of [api, baseline.api]) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    redis.disconnect();
  }

  results.machine = {
    ...(results.machine as object),
    loadavg_after: loadavg().map((x) => round(x, 2)),
  };
  printReport(results, facts);
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `places-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  writeFileSync(file.replace(/\.json$/, '-plans.txt'), plans);
  log(`results: ${file} (plans: ${file.replace(/\.json$/, '-plans.txt')})`);
}

/** The compiled API, one process (`APP_ROLE=api`, production), on a free port. */
async function startApi(env: Record<string, string> = {}) {
  const port = await freePort();
  const api = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      APP_ROLE: 'api',
      PORT: String(port),
      METRICS_PORT: '0',
      DATABASE_URL,
      REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      JWT_SECRET: 'bench-jwt-secret-long-enough-1234',
      CRAWLER_WEBHOOK_API_KEY: 'bench-webhook-key',
      PYTHON_SCRAPER_API_KEY: 'bench-key',
      ADMIN_EMAIL,
      ADMIN_PASSWORD: PASSWORD,
      ...env,
    },
  });
  return { api, base: `http://127.0.0.1:${port}` };
}

async function apiUp(base: string) {
  for (let i = 0; ; i++) {
    if ((await fetch(`${base}/api/health`).catch(() => null))?.ok) return;
    if (i > 300) throw new Error('the API did not start');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every figure of issue 8, as Markdown tables. */
function printReport(results: Record<string, unknown>, facts: SeedFacts) {
  const machine = results.machine as { loadavg_before: number[]; loadavg_after: number[] };
  const settings = results.settings as { client: string };
  console.log(
    `\nload average before ${machine.loadavg_before.join(' ')}, after ${machine.loadavg_after.join(' ')} (${cpus().length} CPUs); client ${settings.client}, ${CONNECTIONS} connections, ${DURATION_S} s each`,
  );
  console.log(
    '\nrequest | target p99 | p50 ms | p99 ms | met | req/s | CPU ms/req API + PG | cold ms | total | load',
  );
  console.log('---|---|---|---|---|---|---|---|---|---');
  for (const r of results.lists as Array<Record<string, number | string>>)
    console.log(
      `${r.request} | < ${r.target_p99_ms} | ${r.p50_ms} | ${r.p99_ms} | ${Number(r.p99_ms) < Number(r.target_p99_ms) ? 'yes' : 'NO'} | ${r.req_s} | ${r.api_cpu_ms_per_req} + ${r.pg_cpu_ms_per_req} | ${r.cold_ms} | ${r.total} | ${r.loadavg}`,
    );
  console.log(
    '\nexport | rows | rows/s (target CSV ≥ 100,000) | rows per CPU-s, API + PG (API alone; PG alone) | s | MB | API RSS before → peak MB | load',
  );
  console.log('---|---|---|---|---|---|---|---');
  for (const r of results.exports as Array<Record<string, number | string>>)
    console.log(
      `${r.format} | ${r.rows} | ${r.rows_s} | ${r.rows_per_cpu_s} (${r.rows_per_api_cpu_s}; ${r.rows_per_pg_cpu_s}) | ${r.seconds} | ${r.mb} | ${r.rss_before_mb} → ${r.rss_peak_mb} | ${r.loadavg}`,
    );
  console.log(
    '\nstore with de-duplication (target ≥ 20,000 rows/s) | new rows/s | new rows per PG CPU-s (+ client) | duplicate rows/s | duplicates per PG CPU-s',
  );
  console.log('---|---|---|---|---');
  for (const [when, r] of Object.entries(results.store as Record<string, Record<string, number>>))
    console.log(
      `${when} | ${r.new_rows_s} | ${r.new_rows_per_pg_cpu_s} (${r.new_rows_per_cpu_s}) | ${r.duplicate_rows_s} | ${r.duplicate_rows_per_pg_cpu_s}`,
    );
  console.log(
    `\nseed (${facts.seeded_at}, load ${facts.loadavg.join(' ')}): 1,000,000 rows in ${facts.seed_seconds} s + ${facts.indexes_rebuilt_seconds} s of index rebuilds; migration ${facts.migration_seconds} s`,
  );
  console.log('index | build s (CONCURRENTLY, 1M rows)');
  console.log('---|---');
  for (const r of facts.index_builds) console.log(`${r.index} | ${r.seconds}`);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() =>
    // BENCH_PLACES_REUSE keeps the seeded database for the next run (its Redis keys still go).
    REUSE
      ? unlinkKeys(REDIS_URL, `${PREFIX}:*`)
      : dropBenchData({
          adminUrl: ADMIN_URL,
          database: DB_NAME,
          redisUrl: REDIS_URL,
          redisPrefix: PREFIX,
        }),
  );

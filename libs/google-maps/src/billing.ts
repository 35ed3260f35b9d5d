/**
 * What each provider request is billed as. Google bills Places API (New) Text Search per
 * request at the tier of the most expensive field its field mask asks for
 * (https://developers.google.com/maps/documentation/places/web-service/text-search#fieldmask,
 * https://developers.google.com/maps/billing-and-pricing/pricing#places-pricing);
 * the self-hosted Python scraper is one SKU of its own, priced by the operator.
 */
export type ProviderName = 'python-api' | 'google-places';

export type BillingSku =
  | 'places.text_search.essentials'
  | 'places.text_search.pro'
  | 'places.text_search.enterprise'
  | 'places.text_search.enterprise_atmosphere'
  | 'python_api.search';

/** One request a provider will bill. */
export interface BilledRequest {
  provider: ProviderName;
  sku: BillingSku;
}

/** Called once per billed request, when it is sent (a failed request is billed too). */
export type Meter = (request: BilledRequest) => void;

/** Text Search fields billed at Enterprise + Atmosphere. */
const ATMOSPHERE_FIELDS = new Set([
  'allowsDogs',
  'curbsidePickup',
  'delivery',
  'dineIn',
  'editorialSummary',
  'evChargeOptions',
  'fuelOptions',
  'goodForChildren',
  'goodForGroups',
  'goodForWatchingSports',
  'liveMusic',
  'menuForChildren',
  'parkingOptions',
  'paymentOptions',
  'outdoorSeating',
  'reservable',
  'restroom',
  'reviews',
  'routingSummaries',
  'servesBeer',
  'servesBreakfast',
  'servesBrunch',
  'servesCocktails',
  'servesCoffee',
  'servesDessert',
  'servesDinner',
  'servesLunch',
  'servesVegetarianFood',
  'servesWine',
  'takeout',
]);

/** Text Search fields billed at Enterprise. */
const ENTERPRISE_FIELDS = new Set([
  'currentOpeningHours',
  'currentSecondaryOpeningHours',
  'internationalPhoneNumber',
  'nationalPhoneNumber',
  'priceLevel',
  'priceRange',
  'rating',
  'regularOpeningHours',
  'regularSecondaryOpeningHours',
  'userRatingCount',
  'websiteUri',
]);

/** Text Search fields billed at Essentials (IDs only); every other field is Pro. */
const ESSENTIALS_FIELDS = new Set(['id', 'name', 'attributions']);

/** The SKU a Text Search request with this field mask is billed as. */
export function textSearchSku(fieldMask: string | readonly string[]): BillingSku {
  const fields = (typeof fieldMask === 'string' ? fieldMask.split(',') : fieldMask)
    .map(
      (field) =>
        field
          .trim()
          .replace(/^places\./, '')
          .split('.')[0],
    )
    .filter((field) => field && field !== 'nextPageToken');
  if (fields.some((field) => field === '*' || ATMOSPHERE_FIELDS.has(field)))
    return 'places.text_search.enterprise_atmosphere';
  if (fields.some((field) => ENTERPRISE_FIELDS.has(field))) return 'places.text_search.enterprise';
  if (fields.some((field) => !ESSENTIALS_FIELDS.has(field))) return 'places.text_search.pro';
  return 'places.text_search.essentials';
}

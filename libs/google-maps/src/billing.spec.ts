import { describe, expect, it } from 'vitest';
import { textSearchSku } from './billing.js';
import { GOOGLE_PLACES_FIELD_MASK } from './place.mapper.js';

describe('textSearchSku', () => {
  it('bills a field mask at the tier of its most expensive field', () => {
    expect(textSearchSku('places.id,nextPageToken')).toBe('places.text_search.essentials');
    expect(textSearchSku('places.id,places.displayName,places.location')).toBe(
      'places.text_search.pro',
    );
    expect(textSearchSku(['places.id', 'places.rating'])).toBe('places.text_search.enterprise');
    expect(textSearchSku('places.displayName,places.reviews')).toBe(
      'places.text_search.enterprise_atmosphere',
    );
    expect(textSearchSku('*')).toBe('places.text_search.enterprise_atmosphere');
  });

  it('bills the field mask the scraper sends at Enterprise (phone, website and rating)', () => {
    expect(textSearchSku(GOOGLE_PLACES_FIELD_MASK)).toBe('places.text_search.enterprise');
  });
});

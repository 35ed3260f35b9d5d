import { describe, expect, it } from 'vitest';
import { mapGooglePlace, mapPythonPlace } from './place.mapper.js';

describe('mapPythonPlace', () => {
  it('maps the Selenium spelling of the fields', () => {
    expect(
      mapPythonPlace({
        title: '  Kopi   Kenangan ',
        address: 'Jl. Sudirman 1',
        phone_number: '+62 21 555',
        website: 'https://kopi.example',
        rating: '4,6',
        reviews: '1,234 reviews',
        category: 'Coffee shop',
        lat: '-6.2',
        lng: 106.8,
        place_id: 'ChIJ123',
      }),
    ).toEqual({
      name: 'Kopi Kenangan',
      address: 'Jl. Sudirman 1',
      phone: '+62 21 555',
      website: 'https://kopi.example',
      rating: 4.6,
      reviewsCount: 1234,
      category: 'Coffee shop',
      latitude: -6.2,
      longitude: 106.8,
      googlePlaceId: 'ChIJ123',
    });
  });

  it('maps the Places-API spelling (geometry, user_ratings_total, types)', () => {
    const place = mapPythonPlace({
      name: 'Warung',
      formatted_address: 'Depok',
      user_ratings_total: 7,
      types: ['restaurant', 'food'],
      geometry: { location: { lat: -6.4, lng: 106.82 } },
    });
    expect(place).toMatchObject({
      name: 'Warung',
      address: 'Depok',
      reviewsCount: 7,
      category: 'restaurant',
      latitude: -6.4,
      longitude: 106.82,
    });
    expect(place?.phone).toBeNull();
  });

  it('drops a place without a name and nulls out-of-range values', () => {
    expect(mapPythonPlace({ address: 'x' })).toBeNull();
    expect(mapPythonPlace(null)).toBeNull();
    expect(mapPythonPlace({ name: 'A', rating: 9, lat: 200, lng: 'abc' })).toMatchObject({
      rating: null,
      latitude: null,
      longitude: null,
    });
  });
});

describe('mapGooglePlace', () => {
  it('maps a Text Search place', () => {
    expect(
      mapGooglePlace({
        id: 'ChIJabc',
        displayName: { text: 'Sate Khas Senayan', languageCode: 'id' },
        formattedAddress: 'Jl. Kebon Sirih',
        nationalPhoneNumber: '(021) 123',
        websiteUri: 'https://sate.example',
        rating: 4.44,
        userRatingCount: 321,
        primaryTypeDisplayName: { text: 'Restoran' },
        primaryType: 'restaurant',
        location: { latitude: -6.18, longitude: 106.83 },
      }),
    ).toEqual({
      name: 'Sate Khas Senayan',
      address: 'Jl. Kebon Sirih',
      phone: '(021) 123',
      website: 'https://sate.example',
      rating: 4.4,
      reviewsCount: 321,
      category: 'Restoran',
      latitude: -6.18,
      longitude: 106.83,
      googlePlaceId: 'ChIJabc',
    });
  });

  it('falls back to the primary type and tolerates missing fields', () => {
    expect(
      mapGooglePlace({ id: 'x', displayName: { text: 'B' }, primaryType: 'cafe' }),
    ).toMatchObject({
      name: 'B',
      category: 'cafe',
      rating: null,
      reviewsCount: null,
      latitude: null,
    });
    expect(mapGooglePlace({ id: 'x' })).toBeNull();
  });
});

export * from './billing.js';
export * from './geo.js';
export * from './google-places.client.js';
export * from './place.mapper.js';
export * from './place.types.js';
export * from './provider.errors.js';
export * from './provider.factory.js';
export * from './python-scraper.client.js';

import { GooglePlacesClient } from './google-places.client.js';
import type { PlacesProvider } from './place.types.js';
import { PythonScraperClient } from './python-scraper.client.js';

export interface ProviderSettings {
  provider: 'python-api' | 'google-places';
  pythonApiUrl: string;
  pythonApiKey?: string;
  googleApiKey?: string;
  googlePlacesApiBase: string;
  timeoutMs: number;
}

/** The provider named by SCRAPER_PROVIDER, or `name` (provider routing builds each one it routes to). */
export function createPlacesProvider(
  settings: ProviderSettings,
  name: ProviderSettings['provider'] = settings.provider,
): PlacesProvider {
  if (name === 'google-places') {
    if (!settings.googleApiKey)
      throw new Error('GOOGLE_MAPS_API_KEY is required to route scrape jobs to google-places');
    return new GooglePlacesClient({
      baseUrl: settings.googlePlacesApiBase,
      apiKey: settings.googleApiKey,
      timeoutMs: settings.timeoutMs,
    });
  }
  return new PythonScraperClient({
    baseUrl: settings.pythonApiUrl,
    apiKey: settings.pythonApiKey,
    timeoutMs: settings.timeoutMs,
  });
}

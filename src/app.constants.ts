/** Every route lives under this prefix except `GET /` and Bull Board (/admin/queues). */
export const API_PREFIX = 'api';

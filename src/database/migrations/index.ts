import { CreateUsers1763800000000 } from './1763800000000-create-users.js';

/** Every migration, in order. A new migration file must be added here. */
export const MIGRATIONS = [CreateUsers1763800000000];

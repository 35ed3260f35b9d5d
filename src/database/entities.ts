import { User } from '../modules/auth/entities/user.entity.js';

/** Every TypeORM entity of the app; each feature module adds its own here. */
export const ENTITIES = [User];

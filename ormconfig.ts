import { DataSource } from 'typeorm';
import { loadAppConfig } from '@app/config';
import { typeOrmOptions } from './src/database/typeorm-options.js';

/** The TypeORM CLI's data source: the same options factory as the app. */
export default new DataSource(typeOrmOptions(loadAppConfig(process.env).config));

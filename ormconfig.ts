import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config.js';
import { dataSourceOptions } from './src/database/data-source-options.js';

/** For the TypeORM CLI (`npm run migration:run`); the server itself runs migrations at boot. */
export default new DataSource(dataSourceOptions(loadConfig().DATABASE_URL, 2));

import { ConfigError } from '../config/app.config.js';
import { applyMigrations } from './migrations.js';

/** `npm run db:migrate`: applies pending migrations and exits. Needs only DATABASE_URL. */
const databaseUrl = process.env['DATABASE_URL'];
if (!databaseUrl) {
  process.stderr.write(`${new ConfigError(['DATABASE_URL is required']).message}\n`);
  process.exit(1);
}
try {
  await applyMigrations(databaseUrl, (line) => process.stdout.write(`${line}\n`));
} catch (error) {
  process.stderr.write(`migrations failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

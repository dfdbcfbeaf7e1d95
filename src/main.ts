import 'reflect-metadata';
import { getHeapStatistics } from 'node:v8';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { type AppConfig, ConfigError, loadConfig } from './config/app.config.js';
import { applyMigrations } from './db/migrations.js';
import { configureApp } from './http.js';
import { createRootLogger } from './ops/logging.js';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createRootLogger(config);
  if (config.migrateOnStart) {
    await applyMigrations(config.databaseUrl, (line) => logger.info({ context: 'Migrations' }, line));
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  configureApp(app, config);
  app.enableShutdownHooks();
  await app.listen(config.port, '0.0.0.0');
  logger.info({ context: 'Main' }, `listening on port ${config.port}`);
  // shows whether the shipped Node flags (package.json config.nodeOptions) reached this process
  logger.info(
    { context: 'Main' },
    `V8 heap limit ${Math.round(getHeapStatistics().heap_size_limit / 2 ** 20)} MiB`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

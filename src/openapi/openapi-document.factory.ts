import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from '../app.module.js';
import { loadConfig } from '../config/app.config.js';
import { buildOpenApiDocument } from './openapi.document.js';

/**
 * Stand-in settings for describing the API without running it: the document depends on the
 * routes and schemas only, never on configuration, and nothing here is connected to.
 */
const DESCRIBE_ONLY_ENV = {
  DATABASE_URL: 'postgresql://describe-only@localhost:5432/describe_only',
  DIALNEXA_API_KEY: 'describe-only',
  S3_BUCKET: 'describe-only',
  API_KEYS: JSON.stringify([{ name: 'describe-only', key: 'describe-only-0000', roles: ['admin'] }]),
};

/**
 * The OpenAPI document of the app module, built in Nest's preview mode: the module graph is
 * resolved but no provider is instantiated, so no database, bucket or queue is touched and no
 * server starts. `npm run openapi` writes it; the drift test compares it with the committed file.
 */
export async function describeApi(): Promise<OpenAPIObject> {
  const app = await NestFactory.create(AppModule.forRoot(loadConfig(DESCRIBE_ONLY_ENV)), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

/** The committed form: two-space JSON and a final newline, so the file diffs line by line. */
export function serializeOpenApiDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

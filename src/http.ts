import type { NestExpressApplication } from '@nestjs/platform-express';
import type { RequestHandler } from 'express';
import { literalMalformedEscapes } from './common/path-escapes.middleware.js';
import type { AppConfig } from './config/app.config.js';
import { HttpMetricsMiddleware } from './ops/http-metrics.middleware.js';
import { ACCESS_LOG } from './ops/logging.module.js';
import { serveOpenApiDocument } from './openapi/openapi.document.js';

/** HTTP settings shared by main.ts and the end-to-end tests, so tests run the app as deployed. */
export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // first, so that every request is logged and timed, also one refused before routing (413, 415)
  app.use(app.get<RequestHandler>(ACCESS_LOG));
  app.use(app.get(HttpMetricsMiddleware).handle);
  // before routing, which decodes path parameters
  app.use(literalMalformedEscapes);
  // Bodies are JSON only and small; anything larger is refused (413) before it is parsed.
  app.useBodyParser('json', { limit: config.bodyLimitBytes, strict: true, type: () => true });
  // `/docs` and `/docs/openapi.json`, without authentication (service contract, "Operations")
  serveOpenApiDocument(app);
}

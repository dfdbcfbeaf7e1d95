import type { NestExpressApplication } from '@nestjs/platform-express';
import type { RequestHandler } from 'express';
import { literalMalformedEscapes } from './common/path-escapes.middleware.js';
import type { AppConfig } from './config/app.config.js';
import { consoleFormBody, consoleSecurityHeaders } from './console/console-http.js';
import { HttpMetricsMiddleware } from './ops/http-metrics.middleware.js';
import { ACCESS_LOG } from './ops/logging.module.js';
import { serveOpenApiDocument } from './openapi/openapi.document.js';

/** HTTP settings shared by main.ts and the end-to-end tests, so tests run the app as deployed. */
export function configureApp(app: NestExpressApplication, config: AppConfig): void {
  app.disable('x-powered-by');
  // X-Forwarded-* (and so req.secure, req.ip) is believed from the configured proxies only
  app.set('trust proxy', config.console.trustedProxies.length > 0 ? config.console.trustedProxies : false);
  // first, so that every request is logged and timed, also one refused before routing (413, 415)
  app.use(app.get<RequestHandler>(ACCESS_LOG));
  app.use(app.get(HttpMetricsMiddleware).handle);
  // before routing, which decodes path parameters
  app.use(literalMalformedEscapes);
  // The web console's pages: strict headers on every answer under /console (errors included), and
  // its form posts read before the JSON parser below would refuse them.
  app.use('/console', consoleSecurityHeaders);
  app.use('/console', consoleFormBody(config.bodyLimitBytes));
  // Bodies are JSON only and small; anything larger is refused (413) before it is parsed.
  app.useBodyParser('json', { limit: config.bodyLimitBytes, strict: true, type: () => true });
  // `/docs` and `/docs/openapi.json`, without authentication (service contract, "Operations")
  serveOpenApiDocument(app);
}

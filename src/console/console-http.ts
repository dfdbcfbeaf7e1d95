import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Every console response: no inline script or style, no framing, nothing cached, no referrer. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function consoleSecurityHeaders(_request: Request, response: Response, next: NextFunction): void {
  response.setHeader('Content-Security-Policy', CONSOLE_CSP);
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('Cache-Control', 'no-store');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  next();
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * Reads a console form post (application/x-www-form-urlencoded, UTF-8) into `request.body`, before
 * the service's JSON body parser would refuse it. Larger than `limitBytes`: 413. Repeated fields
 * keep their first value. Other bodies are left to the JSON parser and its guard.
 */
export function consoleFormBody(limitBytes: number): RequestHandler {
  return (request, response, next) => {
    if (request.method !== 'POST' || !FORM_TYPE.test(request.headers['content-type'] ?? '')) {
      next();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes && !failed) {
        failed = true;
        response.status(413).type('text/plain').send('PAYLOAD_TOO_LARGE: the form is too large\n');
        request.resume();
      } else if (!failed) chunks.push(chunk);
    });
    request.on('end', () => {
      if (failed) return;
      const fields: Record<string, string> = {};
      // URLSearchParams decodes malformed escapes and bytes as U+FFFD, never throws
      for (const [name, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) {
        if (!(name in fields)) fields[name] = value;
      }
      request.body = fields;
      // tells the JSON body parser that this body was read
      (request as Request & { _body?: boolean })._body = true;
      next();
    });
    request.on('error', next);
  };
}

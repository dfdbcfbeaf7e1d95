import type { NextFunction, Request, Response } from 'express';

/**
 * Takes a path segment that is not valid percent-encoding (`%zz`, a lone `%`, `%ED%A0%80`, which
 * encodes half a surrogate pair) literally, by escaping its `%`. Express would otherwise throw a
 * URIError while decoding a path parameter, before any controller could answer; this way such an
 * id reaches its route and is answered like any other id that names nothing (404, with the
 * resource's code), and a path that matches no route is ROUTE_NOT_FOUND.
 */
export function literalMalformedEscapes(request: Request, _response: Response, next: NextFunction): void {
  const url = request.url;
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  if (path.includes('%')) {
    const literal = path
      .split('/')
      .map((segment) => (decodable(segment) ? segment : segment.replaceAll('%', '%25')))
      .join('/');
    if (literal !== path) request.url = literal + (queryAt < 0 ? '' : url.slice(queryAt));
  }
  next();
}

function decodable(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch (error) {
    // the one failure decodeURIComponent has: the segment is not valid percent-encoded UTF-8
    if (error instanceof URIError) return false;
    throw error;
  }
}

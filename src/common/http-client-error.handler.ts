import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from './http-exception.filter.js';

/**
 * Requests that Node's HTTP parser refuses (a CR, LF or NUL in a header, a malformed request
 * line, headers too large) never reach Express or the exception filter. Node would answer them
 * with a bare 400; this answers with the contract's error shape instead.
 */
@Injectable()
export class HttpClientErrorHandler implements OnApplicationBootstrap {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    server?.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answer(error, socket));
  }
}

function answer(error: NodeJS.ErrnoException, socket: Duplex): void {
  // a connection reset or a timed-out client is gone (or slow on purpose): nobody to answer
  if (error.code === 'ECONNRESET' || error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const header = tooLarge ? undefined : refusedHeader(error);
  const field = header
    ? { field: header, message: 'must not contain U+0000 or other control characters' }
    : { field: '(request)', message: tooLarge ? 'headers too large' : 'malformed' };
  const body: ErrorBody = {
    statusCode: 400,
    error: 'Bad Request',
    code: 'VALIDATION_FAILED',
    message: tooLarge ? 'the request headers are too large' : 'the request is not valid HTTP',
    details: { fields: [field] },
  };
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/**
 * The name of the header whose value the parser refused (U+0000 or another control character in
 * it), so the answer names the field as validation errors do. Only a well-formed name is echoed.
 */
function refusedHeader(error: NodeJS.ErrnoException & { rawPacket?: unknown }): string | undefined {
  if (error.code !== 'HPE_INVALID_HEADER_TOKEN' || !Buffer.isBuffer(error.rawPacket)) return undefined;
  const raw = error.rawPacket;
  const end = raw.indexOf('\r\n\r\n');
  const lines = raw
    .subarray(0, end < 0 ? raw.length : end)
    .toString('latin1')
    .split('\r\n')
    .slice(1);
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const bad = lines.find((line) => /[\u0000-\u0008\u000a-\u001f\u007f]/.test(line));
  const name = bad?.slice(0, Math.max(0, bad.indexOf(':'))).trim();
  return name !== undefined && HEADER_NAME.test(name) ? name : undefined;
}

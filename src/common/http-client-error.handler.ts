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
  const body: ErrorBody = {
    statusCode: 400,
    error: 'Bad Request',
    code: 'VALIDATION_FAILED',
    message: tooLarge ? 'the request headers are too large' : 'the request is not valid HTTP',
    details: { fields: [{ field: '(request)', message: tooLarge ? 'headers too large' : 'malformed' }] },
  };
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}

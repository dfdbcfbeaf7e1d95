/**
 * An HTTP proxy in front of the test store (Ceph 16) that answers, with AWS's own error, what AWS
 * S3 refuses and Ceph accepts (the rules are in aws-rules.ts), and forwards everything else
 * unchanged: the Host header and every signed header are kept, so SigV4 signatures stay valid.
 *
 * It records every request and every refusal. A test that did not start it reads them over HTTP,
 * on paths no S3 request can use (bucket names cannot contain `_`):
 *   GET /__aws-rules/refusals?since=N  → { total, refusals: refusals[N..] }
 *   GET /__aws-rules/requests?since=N  → { total, requests: requests[N..] }
 *
 * Request bodies are buffered, to verify their checksums: fine for test-sized objects.
 */
import {
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import {
  request as httpRequest,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import {
  type AwsError,
  awsRefusal,
  errorXml,
  isCreateOnly,
  parseRequest,
  PRECONDITION_FAILED,
  type S3Operation,
  type S3Request,
} from './aws-rules.ts';

export interface ProxiedRequest {
  method: string;
  bucket: string;
  key: string;
  query: string;
  operation: S3Operation;
  /** 0 until answered, and when the client went away first. */
  status: number;
  at: string;
}

export interface Refusal {
  method: string;
  bucket: string;
  key: string;
  query: string;
  operation: S3Operation;
  status: number;
  code: string;
  message: string;
  /** False for answers a correct client must expect (412 on a create-only write of an existing key). */
  violation: boolean;
  at: string;
}

export interface AwsRulesProxyOptions {
  /** The store's endpoint, e.g. http://127.0.0.1:7480. */
  target: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

const SIDE_CHANNEL = '/__aws-rules/';

export class AwsRulesProxy {
  readonly requests: ProxiedRequest[] = [];
  readonly refusals: Refusal[] = [];
  port = 0;
  private readonly target: URL;
  /** The proxy's own requests (lock configuration, existence) go straight to the store. */
  private readonly store: S3Client;
  private readonly defaultRetention = new Map<string, Promise<boolean>>();
  /** Per `bucket/key`: the tail of the queue of create-only writes to it. */
  private readonly keyQueues = new Map<string, Promise<void>>();
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;

  constructor(options: AwsRulesProxyOptions) {
    this.target = new URL(options.target);
    this.store = new S3Client({
      region: options.region ?? process.env['S3_REGION'] ?? 'us-east-1',
      endpoint: options.target,
      forcePathStyle: true,
      credentials: {
        accessKeyId: options.accessKeyId ?? process.env['AWS_ACCESS_KEY_ID'] ?? '',
        secretAccessKey: options.secretAccessKey ?? process.env['AWS_SECRET_ACCESS_KEY'] ?? '',
      },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.store.destroy();
  }

  refusalsSince(index = 0): Refusal[] {
    return this.refusals.slice(index);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url.startsWith(SIDE_CHANNEL)) return this.sideChannel(url, res);
    const request = parseRequest(req.method ?? 'GET', url, req.headers);
    const record: ProxiedRequest = {
      method: request.method,
      bucket: request.bucket,
      key: request.key,
      query: request.query,
      operation: request.operation,
      status: 0,
      at: new Date().toISOString(),
    };
    this.requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    const body = await readBody(req);
    if (body === null) return; // the client went away mid-body: nothing to judge or forward
    try {
      const refusal = awsRefusal(request, body, await this.hasDefaultRetention(request));
      if (refusal) return this.refuse(request, refusal, res);
      if (isCreateOnly(request)) return await this.createOnly(request, body, req, res);
      await this.forward(req, body, res);
      if (request.operation === 'PutObjectLockConfiguration') this.defaultRetention.delete(request.bucket);
    } catch (error) {
      // The proxy could not learn what it needs from the store: a 500, which clients retry.
      const message = `aws-rules-proxy: ${error instanceof Error ? error.message : String(error)}`;
      this.refuse(request, { status: 500, code: 'InternalError', message, violation: false }, res);
    }
  }

  /**
   * Check-then-write for `If-None-Match: *`, which Ceph 16 ignores on a versioned bucket. Writes
   * to one key through this proxy queue behind each other, so no two can both see "absent".
   */
  private async createOnly(
    request: S3Request,
    body: Buffer,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const slot = `${request.bucket}/${request.key}`;
    const previous = this.keyQueues.get(slot) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.keyQueues.set(slot, tail);
    await previous;
    try {
      if (await this.exists(request.bucket, request.key))
        return this.refuse(request, PRECONDITION_FAILED, res);
      await this.forward(req, body, res);
    } finally {
      release();
      if (this.keyQueues.get(slot) === tail) this.keyQueues.delete(slot);
    }
  }

  /** A delete marker as the current version answers 404, so it counts as absent, as on AWS. */
  private async exists(bucket: string, key: string): Promise<boolean> {
    try {
      await this.store.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return false;
      throw new Error(`HEAD ${bucket}/${key} failed: ${explain(error)}`, { cause: error });
    }
  }

  private hasDefaultRetention(request: S3Request): Promise<boolean> {
    if (request.operation !== 'PutObject' && request.operation !== 'UploadPart')
      return Promise.resolve(false);
    let known = this.defaultRetention.get(request.bucket);
    if (!known) {
      known = this.readDefaultRetention(request.bucket);
      this.defaultRetention.set(request.bucket, known);
      // a failed look-up is not an answer: the next request asks again
      known.catch(() => this.defaultRetention.delete(request.bucket));
    }
    return known;
  }

  private async readDefaultRetention(bucket: string): Promise<boolean> {
    try {
      const out = await this.store.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
      return out.ObjectLockConfiguration?.Rule?.DefaultRetention !== undefined;
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      // No lock configuration, or no bucket (the store answers the write itself): no default rule.
      if (name === 'ObjectLockConfigurationNotFoundError' || name === 'NoSuchBucket') return false;
      throw new Error(`GetObjectLockConfiguration of ${bucket} failed: ${explain(error)}`, {
        cause: error,
      });
    }
  }

  private refuse(request: S3Request, error: AwsError, res: ServerResponse): void {
    this.refusals.push({
      method: request.method,
      bucket: request.bucket,
      key: request.key,
      query: request.query,
      operation: request.operation,
      status: error.status,
      code: error.code,
      message: error.message,
      violation: error.violation,
      at: new Date().toISOString(),
    });
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const resource = `/${request.bucket}${request.key ? `/${request.key}` : ''}`;
    const xml = request.method === 'HEAD' ? '' : errorXml(error, requestId, resource);
    res.writeHead(error.status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(xml),
      'x-amz-request-id': requestId,
      'x-aws-rules-proxy': 'refused',
    });
    res.end(xml);
  }

  private forward(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    // `expect: 100-continue` is never signed, and the body is already here.
    const { expect: _expect, ...headers } = req.headers;
    return new Promise<void>((resolve) => {
      const upstream = httpRequest(
        {
          host: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', resolve);
          res.on('close', resolve);
          answer.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      // A store that drops the connection looks the same to the client as a proxy that does.
      upstream.on('error', () => {
        res.destroy();
        resolve();
      });
      upstream.end(body);
    });
  }

  private sideChannel(url: string, res: ServerResponse): void {
    const { pathname, searchParams } = new URL(url, 'http://proxy');
    const since = Math.max(0, Number(searchParams.get('since') ?? 0) || 0);
    const list =
      pathname === `${SIDE_CHANNEL}refusals`
        ? { total: this.refusals.length, refusals: this.refusals.slice(since) }
        : pathname === `${SIDE_CHANNEL}requests`
          ? { total: this.requests.length, requests: this.requests.slice(since) }
          : null;
    const json = JSON.stringify(list ?? { error: `unknown path ${pathname}` });
    res.writeHead(list ? 200 : 404, { 'content-type': 'application/json' });
    res.end(json);
  }
}

/** The refusals of a proxy running elsewhere (e.g. in the e2e tier's global set-up). */
export async function fetchRefusals(
  proxyUrl: string,
  since = 0,
): Promise<{ total: number; refusals: Refusal[] }> {
  const answer = await fetch(`${proxyUrl}${SIDE_CHANNEL}refusals?since=${since}`);
  if (!answer.ok) throw new Error(`${proxyUrl}${SIDE_CHANNEL}refusals answered ${answer.status}`);
  return (await answer.json()) as { total: number; refusals: Refusal[] };
}

/** One line per refusal, for a test failure message. */
export function formatRefusals(refusals: Refusal[]): string {
  return refusals
    .map(
      (r) =>
        `  ${r.method} /${r.bucket}/${r.key}${r.query ? `?${r.query}` : ''} (${r.operation}) → ` +
        `${r.status} ${r.code}: ${r.message}`,
    )
    .join('\n');
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    // a promise settles once: after 'end', these change nothing
    req.on('close', () => resolve(null));
    req.on('error', () => resolve(null));
  });
}

function explain(error: unknown): string {
  if (error instanceof S3ServiceException)
    return `${error.$metadata.httpStatusCode ?? '-'} ${error.name}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  type OpenAPIObject,
  type OperationObject,
  type ResponseObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { z } from 'zod';
import type { ErrorCode } from '../common/domain-error.js';
import { errorBodySchema } from '../common/error-body.dto.js';
import { httpStatusOf } from '../common/error-status.js';
import { ERROR_CODES_EXTENSION } from './api-docs.decorators.js';

export const DOCS_PATH = 'docs';
export const OPENAPI_JSON_PATH = `${DOCS_PATH}/openapi.json`;

const ERROR_BODY_REF = '#/components/schemas/ErrorBody';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** Every route that needs an API key may answer these. */
const AUTHENTICATED_ERRORS: ErrorCode[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED'];
/** Every route with a body or a query may answer these. */
const BODY_ERRORS: ErrorCode[] = ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
const QUERY_ERRORS: ErrorCode[] = ['VALIDATION_FAILED'];

/**
 * The OpenAPI description of the REST API, built from the controllers: each body and query is
 * described by the zod schema that validates it, each answer by the zod schema of what its
 * presenter returns. What every route shares (the error body, `X-Request-Id`, the errors of
 * authentication, validation and the rate limit, `Retry-After`) is added here, once.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('dialnexa-teardown')
    .setDescription(
      'Archives a DialNexa workflow to S3, audits it, then cancels and deletes it upstream. ' +
        'Every /v1 route needs `Authorization: Bearer <API key>`; errors carry a stable `code`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an API key of API_KEYS' }, 'apiKey')
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  document.components ??= {};
  document.components.schemas = {
    ...document.components.schemas,
    ErrorBody: z.toJSONSchema(errorBodySchema, { target: 'openapi-3.0', io: 'output' }) as object,
  };
  for (const pathItem of Object.values(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method];
      if (operation) completeOperation(operation);
    }
  }
  return document;
}

/** An operation with the error codes `ApiRoute` declared for it. */
type DocumentedOperation = OperationObject & { [ERROR_CODES_EXTENSION]?: unknown };

function completeOperation(operation: DocumentedOperation): void {
  const authenticated = (operation.security ?? []).length > 0;
  const extension = operation[ERROR_CODES_EXTENSION];
  const parameters = operation.parameters ?? [];
  const hasQuery = parameters.some((p) => 'in' in p && p.in === 'query');
  const codes = new Set<ErrorCode>([
    ...(authenticated ? AUTHENTICATED_ERRORS : []),
    ...(operation.requestBody ? BODY_ERRORS : []),
    ...(hasQuery ? QUERY_ERRORS : []),
    ...(Array.isArray(extension) ? (extension as ErrorCode[]) : []),
    'INTERNAL_ERROR',
  ]);
  operation[ERROR_CODES_EXTENSION] = [...codes];
  // a body whose schema has a default (a decision's `{"comment"}`) may be left out
  const body = operation.requestBody;
  if (
    body &&
    'content' in body &&
    body.content['application/json']?.schema &&
    'default' in body.content['application/json'].schema
  ) {
    body.required = false;
  }

  operation.parameters = [
    ...parameters,
    {
      name: 'X-Request-Id',
      in: 'header',
      required: false,
      description: 'echoed in the answer when it is 1-64 of A-Z a-z 0-9 . _ - (else a new id is made)',
      schema: { type: 'string' },
    },
  ];

  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = httpStatusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    operation.responses[String(status)] = errorResponse(statusCodes);
  }
  for (const response of Object.values(operation.responses) as ResponseObject[]) {
    response.headers = {
      ...response.headers,
      'X-Request-Id': {
        description: "the request's id, also in the service's log lines",
        schema: { type: 'string' },
      },
    };
  }
}

function errorResponse(codes: ErrorCode[]): ResponseObject {
  const response: ResponseObject = {
    description: `error: ${codes.join(', ')}`,
    content: {
      'application/json': {
        schema: {
          allOf: [
            { $ref: ERROR_BODY_REF },
            { type: 'object', properties: { code: { type: 'string', enum: codes } } },
          ],
        },
      },
    },
  };
  if (codes.includes('RATE_LIMITED')) {
    response.headers = {
      'Retry-After': {
        description: 'seconds to wait before the next request (RATE_LIMITED)',
        schema: { type: 'integer' },
      },
    };
  }
  return response;
}

/** `/docs` (the browsable page, its assets served from swagger-ui-dist) and `/docs/openapi.json`. */
export function serveOpenApiDocument(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'dialnexa-teardown API',
  });
}

import { applyDecorators } from '@nestjs/common';
import { ApiExtension, ApiOperation, ApiResponse } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';
import type { ErrorCode } from '../common/domain-error.js';

/** The operation's extension naming every error code it may answer (besides the common ones). */
export const ERROR_CODES_EXTENSION = 'x-error-codes';

/**
 * Documents a route: what it does, its success answer (described by the zod schema of what its
 * presenter returns) and the error codes it may answer besides those every route shares.
 * `buildOpenApiDocument` turns the codes into responses, grouped by their HTTP status.
 */
export function ApiRoute(options: {
  summary: string;
  description?: string;
  status: number;
  schema: z.ZodType;
  errors?: ErrorCode[];
}): MethodDecorator {
  return applyDecorators(
    ApiOperation({ summary: options.summary, description: options.description }),
    ApiResponse({ status: options.status, standardSchema: options.schema, description: options.summary }),
    ApiExtension(ERROR_CODES_EXTENSION, options.errors ?? []),
  );
}

/** A zod schema as an OpenAPI 3.0 schema object, for decorators that take one (headers, path ids). */
export function jsonSchemaOf(schema: z.ZodType): SchemaObject {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as SchemaObject;
}

import { z } from 'zod';
import { ERROR_CODES } from './domain-error.js';

/**
 * The body of every error answer (service contract, "Errors"). HttpExceptionFilter writes it; this
 * schema describes it in the OpenAPI document (as `ErrorBody`), so clients read `code` as a closed set.
 */
export const errorBodySchema = z
  .strictObject({
    statusCode: z.int().min(400).max(599),
    error: z.string().meta({ description: 'the HTTP reason phrase' }),
    code: z.enum(ERROR_CODES).meta({ description: 'stable, machine-readable: add codes, never rename one' }),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).meta({
      description:
        'more about the error; for VALIDATION_FAILED, `fields: [{field, message}]` names each bad field',
    }),
  })
  .meta({ description: 'the body of every error answer' });

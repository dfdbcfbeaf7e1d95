import { type ParameterDecoratorOptions, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError } from './domain-error.js';
import { toStorableText, truncate } from './text.js';

/** Validates a body or query with a zod schema; every bad field is listed in `details.fields`. */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  /** `source` names what is validated when an issue has no field path (a header, a path parameter). */
  constructor(
    private readonly schema: S,
    private readonly source = '(body)',
  ) {}

  transform(value: unknown): z.output<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const fields = result.error.issues.map((issue) => ({
      field: issue.path.length > 0 ? issue.path.join('.') : this.source,
      message:
        issue.code === 'unrecognized_keys'
          ? `unknown field(s): ${issue.keys.map((k) => truncate(toStorableText(k), 64)).join(', ')}`
          : issue.message,
    }));
    throw new DomainError('VALIDATION_FAILED', 'the request is not valid', { details: { fields } });
  }
}

/**
 * `@Body(validated(schema))`, `@Query(validated(schema))`: validates the parameter with `schema`
 * and declares it on the route, so the OpenAPI document describes it with the very schema that
 * validates it.
 */
export function validated<S extends z.ZodType>(schema: S, source?: string): ParameterDecoratorOptions {
  return { schema, pipes: [new ZodValidationPipe(schema, source)] };
}

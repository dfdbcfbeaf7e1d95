import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError, type ErrorCode } from './domain-error.js';

/**
 * A resource id from a path. An id of a form the service never issues names nothing, so it is
 * answered like any unknown id (404 with the resource's code), not as invalid input (contract:
 * "whatever its form"). It never reaches a query, and it is not echoed: it may hold anything.
 */
export class PathIdPipe implements PipeTransform<unknown, string> {
  constructor(
    private readonly schema: z.ZodType<string>,
    private readonly notFound: ErrorCode,
    private readonly resource: string,
  ) {}

  transform(value: unknown): string {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    throw new DomainError(this.notFound, `no ${this.resource} has this id`);
  }
}

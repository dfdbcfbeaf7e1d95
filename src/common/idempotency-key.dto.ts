import { z } from 'zod';

/** The Idempotency-Key header of every POST that creates a resource (teardowns, restores). */
export const idempotencyKeySchema = z
  .string()
  .min(1, 'must be 1-255 characters')
  .max(255, 'must be 1-255 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

import { z } from 'zod';

export const livenessSchema = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Liveness' });

const checkSchema = z.strictObject({
  ok: z.boolean(),
  ms: z.int().optional(),
  /** Only for callers with the admin role. */
  reason: z.string().optional(),
});

export const readinessSchema = z
  .strictObject({
    status: z.enum(['ready', 'not_ready']),
    checks: z.strictObject({
      database: checkSchema.optional(),
      bucket: checkSchema.optional(),
      upstream: checkSchema.optional(),
      /** Present (failing) from the moment shutdown begins. */
      shutdown: checkSchema.optional(),
    }),
  })
  .meta({ id: 'Readiness' });

import { z } from 'zod';

export const livenessSchema = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Liveness' });

const checkSchema = z.strictObject({
  ok: z.boolean(),
  ms: z.int(),
  reason: z.string().optional(),
});

export const readinessSchema = z
  .strictObject({
    status: z.enum(['ready', 'not_ready']),
    checks: z.strictObject({ database: checkSchema, bucket: checkSchema, upstream: checkSchema }),
  })
  .meta({ id: 'Readiness' });

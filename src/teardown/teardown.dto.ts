import { z } from 'zod';
import { TEARDOWN_STATUSES } from './teardown.js';

/** DialNexa ids are opaque: only a sanity check, never parsed further. */
export const workflowIdSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -');

export const teardownIdSchema = z.string().regex(/^td_[0-9A-HJKMNP-TV-Z]{26}$/, 'is not a teardown id');

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Free text for people: no control characters other than line breaks and tabs. */
const text = (min: number, max: number) =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .min(min, `must be ${min}-${max} characters`)
    .max(max, `must be ${min}-${max} characters`)
    .refine((v) => !CONTROL_CHARACTERS.test(v), 'must not contain control characters');

export const createTeardownSchema = z.strictObject({
  workflowId: workflowIdSchema,
  reason: text(3, 2000),
  ticket: text(1, 200).optional(),
  dryRun: z.boolean({ error: 'must be true or false' }).optional(),
  includeLeadHistory: z.boolean({ error: 'must be true or false' }).optional(),
});
export type CreateTeardownDto = z.output<typeof createTeardownSchema>;

export const listTeardownsSchema = z.strictObject({
  workflowId: workflowIdSchema.optional(),
  status: z.enum(TEARDOWN_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: teardownIdSchema.optional(),
});
export type ListTeardownsDto = z.output<typeof listTeardownsSchema>;

export const idempotencyKeySchema = z
  .string()
  .min(1, 'must be 1-255 characters')
  .max(255, 'must be 1-255 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** `{"comment": "…"}`; an empty body is an approval without comment. */
export const decisionSchema = z
  .strictObject({
    comment: text(1, 2000).optional(),
  })
  .default({});
export type DecisionDto = z.output<typeof decisionSchema>;

import { z } from 'zod';
import { freeText } from '../common/text.dto.js';
import { TEARDOWN_STATUSES } from './teardown.js';

/** DialNexa ids are opaque: only a sanity check, never parsed further. */
export const workflowIdSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -');

export const teardownIdSchema = z.string().regex(/^td_[0-9A-HJKMNP-TV-Z]{26}$/, 'is not a teardown id');

export const createTeardownSchema = z.strictObject({
  workflowId: workflowIdSchema,
  reason: freeText(3, 2000),
  ticket: freeText(1, 200).optional(),
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
    comment: freeText(1, 2000).optional(),
  })
  .default({});
export type DecisionDto = z.output<typeof decisionSchema>;

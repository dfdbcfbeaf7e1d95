import { z } from 'zod';
import { teardownIdSchema, workflowIdSchema } from '../common/ids.dto.js';
import { freeText } from '../common/text.dto.js';
import { TEARDOWN_STATUSES } from './teardown.js';

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

export { idempotencyKeySchema } from '../common/idempotency-key.dto.js';

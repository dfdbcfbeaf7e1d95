import { z } from 'zod';
import { workflowIdSchema } from '../teardown/teardown.dto.js';

export const holdIdSchema = z.string().regex(/^hold_[0-9A-HJKMNP-TV-Z]{26}$/, 'is not a hold id');

export const placeHoldSchema = z.strictObject({
  workflowId: workflowIdSchema,
  reason: z
    .string({ error: 'must be a string' })
    .trim()
    .min(3, 'must be 3-2000 characters')
    .max(2000, 'must be 3-2000 characters'),
});
export type PlaceHoldDto = z.output<typeof placeHoldSchema>;

export const listHoldsSchema = z.strictObject({
  workflowId: workflowIdSchema.optional(),
  active: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: holdIdSchema.optional(),
});
export type ListHoldsDto = z.output<typeof listHoldsSchema>;

import { z } from 'zod';
import { workflowIdSchema } from '../common/ids.dto.js';
import { freeText } from '../common/text.dto.js';

export const holdIdSchema = z.string().regex(/^hold_[0-9A-HJKMNP-TV-Z]{26}$/, 'is not a hold id');

export const placeHoldSchema = z.strictObject({
  workflowId: workflowIdSchema,
  reason: freeText(3, 2000),
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

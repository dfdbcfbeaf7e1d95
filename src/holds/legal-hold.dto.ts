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

/** A legal hold as the API shows it (`presentHold`). */
export const holdResourceSchema = z
  .strictObject({
    id: holdIdSchema,
    workflowId: z.string(),
    reason: z.string(),
    placedBy: z.string(),
    placedAt: z.string().meta({ format: 'date-time' }),
    liftedBy: z.string().nullable(),
    liftedAt: z.string().meta({ format: 'date-time' }).nullable(),
  })
  .meta({ id: 'LegalHold' });
export type HoldResource = z.output<typeof holdResourceSchema>;

/** `POST /v1/holds`: the hold, and every teardown of its workflow that was not completed. */
export const placedHoldSchema = holdResourceSchema
  .extend({
    teardowns: z.array(
      z.strictObject({
        id: z.string(),
        status: z.string(),
        cancelSent: z.boolean().meta({ description: 'its cancel may have reached DialNexa' }),
        deleteSent: z
          .boolean()
          .meta({ description: 'a DELETE may have reached DialNexa: the hold may be too late' }),
      }),
    ),
  })
  .meta({ id: 'PlacedLegalHold' });

export const holdPageSchema = z
  .strictObject({ data: z.array(holdResourceSchema), nextCursor: holdIdSchema.nullable() })
  .meta({ id: 'LegalHoldPage' });

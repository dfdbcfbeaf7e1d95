import { z } from 'zod';
import { teardownIdSchema } from '../common/ids.dto.js';
import { freeText } from '../common/text.dto.js';

/** A DialNexa lead status (`removed`, `completed`, …): only a sanity check, never an allow-list. */
const leadStatusSchema = z.string().regex(/^[A-Za-z_]{1,64}$/, 'must be 1-64 characters of A-Z a-z _');

export const createRestoreSchema = z.strictObject({
  teardownId: teardownIdSchema,
  snapshot: z.enum(['final', 'export'], { error: 'must be "final" or "export"' }).optional(),
  reason: freeText(3, 2000),
  dryRun: z.boolean({ error: 'must be true or false' }).optional(),
  excludeLeadStatuses: z.array(leadStatusSchema).max(32, 'at most 32 statuses').optional(),
});
export type CreateRestoreDto = z.output<typeof createRestoreSchema>;

export const listRestoresSchema = z.strictObject({
  teardownId: teardownIdSchema,
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type ListRestoresDto = z.output<typeof listRestoresSchema>;

/** Opted-out leads are never re-enrolled unless the caller says otherwise. */
export const DEFAULT_EXCLUDED_LEAD_STATUSES = ['removed'];

import { z } from 'zod';

/**
 * Ids that several modules read from requests (teardowns, holds, approvals). They live here, not
 * in `teardown/`, because nothing below the teardown module may import it.
 */

/** DialNexa ids are opaque: only a sanity check, never parsed further. */
export const workflowIdSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -');

/** The form `newTeardownId` issues (ids.ts). */
export const teardownIdSchema = z.string().regex(/^td_[0-9A-HJKMNP-TV-Z]{26}$/, 'is not a teardown id');

/** The form `newRestoreId` issues (ids.ts). */
export const restoreIdSchema = z.string().regex(/^rst_[0-9A-HJKMNP-TV-Z]{26}$/, 'is not a restore id');

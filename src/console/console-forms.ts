import { z } from 'zod';
import { teardownIdSchema, workflowIdSchema } from '../common/ids.dto.js';
import { decisionSchema } from '../approvals/approval.dto.js';
import { placeHoldSchema } from '../holds/legal-hold.dto.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { TEARDOWN_STATUSES } from '../teardown/teardown.js';
import { CSRF_FIELD } from './console-csrf.js';

/** An HTML form sends an empty field for "any" and "none": read it as absent. */
const blankAsAbsent = (value: unknown) =>
  typeof value === 'object' && value !== null
    ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== ''))
    : value;

export const teardownFilterSchema = z.preprocess(
  blankAsAbsent,
  z.strictObject({
    status: z.enum(TEARDOWN_STATUSES).optional(),
    workflowId: workflowIdSchema.optional(),
    requestedBy: z
      .string()
      .regex(/^[A-Za-z0-9_.:@-]{1,100}$/, 'is not a caller name')
      .optional(),
    cursor: teardownIdSchema.optional(),
  }),
);
export type TeardownFilter = z.output<typeof teardownFilterSchema>;

/** The REST API's bodies, plus the form's CSRF field (checked by ConsoleAuthGuard). */
export const decisionFormSchema = z.preprocess(
  blankAsAbsent,
  decisionSchema.unwrap().extend({ [CSRF_FIELD]: z.string() }),
);

export const holdFormSchema = z.preprocess(
  blankAsAbsent,
  placeHoldSchema.extend({ [CSRF_FIELD]: z.string() }),
);

/** Validates a form or query: VALIDATION_FAILED with each bad field, as the REST API answers. */
export function parseForm<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  return new ZodValidationPipe(schema).transform(value);
}

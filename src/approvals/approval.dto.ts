import { z } from 'zod';
import { freeText } from '../common/text.dto.js';

/** `{"comment": "…"}`; an empty body is a decision without comment. */
export const decisionSchema = z
  .strictObject({
    comment: freeText(1, 2000).optional(),
  })
  .default({});
export type DecisionDto = z.output<typeof decisionSchema>;

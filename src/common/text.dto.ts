import { z } from 'zod';
import { isStorableText } from './text.js';

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Caller text is stored as sent or refused, never altered: U+0000 (PostgreSQL stores it nowhere)
 * and lone surrogates (an escaped `"\ud800"` in a JSON body; PostgreSQL refuses it in jsonb and
 * `text` would silently get U+FFFD) fail validation with the field named.
 */
export const UNSTORABLE_TEXT = 'must be valid Unicode text: no U+0000, no unpaired surrogate';

/** Free text for people: no control characters other than line breaks and tabs. */
export const freeText = (min: number, max: number) =>
  z
    .string({ error: 'must be a string' })
    .refine(isStorableText, { error: UNSTORABLE_TEXT, abort: true })
    .trim()
    .min(min, `must be ${min}-${max} characters`)
    .max(max, `must be ${min}-${max} characters`)
    .refine((v) => !CONTROL_CHARACTERS.test(v), 'must not contain control characters');

/**
 * CSV as DialNexa's lead upload reads it (RFC 4180), strictly, so that a test catches a writer
 * that relies on a lenient reader:
 * - fields are separated by `,` and records by CRLF; a bare LF or CR also ends a record (files
 *   saved on other systems), but inside quotes every character is data, U+2028 included;
 * - a quoted field starts with `"` at the very start of the field, doubles each `"` inside, and
 *   ends with a `"` followed by a separator or the end: anything else is an error;
 * - a `"` inside an unquoted field is an error; white space is kept, never trimmed;
 * - a blank line is skipped, and so is one final line break.
 * Bytes must be UTF-8 (a leading byte-order mark is dropped).
 */

export class CsvError extends Error {
  override name = 'CsvError';
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new CsvError('File is not valid UTF-8');
  }
}

/** The records of a CSV text, each a list of fields. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  /** Whether the current field was a quoted one (then it is a field even when empty). */
  let fieldQuoted = false;
  let line = 1;
  let i = 0;
  const endField = (): void => {
    record.push(field);
    field = '';
    fieldQuoted = false;
  };
  const endRecord = (): void => {
    const blank = record.length === 0 && field === '' && !fieldQuoted;
    endField();
    if (!blank) records.push(record);
    record = [];
    line++;
  };
  while (i < text.length) {
    const char = text[i]!;
    if (char === '"') {
      if (field !== '') throw new CsvError(`Line ${line}: a quote inside an unquoted field`);
      i = readQuoted(text, i + 1, line, (value, lines) => {
        field = value;
        line += lines;
      });
      fieldQuoted = true;
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') {
        throw new CsvError(`Line ${line}: unexpected character after a closing quote`);
      }
    } else if (char === ',') {
      endField();
      i++;
    } else if (char === '\r' || char === '\n') {
      endRecord();
      i += char === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += char;
      i++;
    }
  }
  // the last record, unless the text ended with its line break
  if (record.length > 0 || field !== '' || fieldQuoted) endRecord();
  return records;
}

/** Reads a quoted field's content from `start` (after its opening quote); answers the index after its closing quote. */
function readQuoted(
  text: string,
  start: number,
  line: number,
  done: (value: string, lines: number) => void,
): number {
  let value = '';
  let lines = 0;
  let i = start;
  for (;;) {
    if (i >= text.length) throw new CsvError(`Line ${line}: unterminated quoted field`);
    const char = text[i]!;
    if (char === '"') {
      if (text[i + 1] !== '"') break;
      value += '"';
      i += 2;
      continue;
    }
    if (char === '\n' || (char === '\r' && text[i + 1] !== '\n')) lines++;
    value += char;
    i++;
  }
  done(value, lines);
  return i + 1;
}

import type { CliError } from './cli.error.js';

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Text from the API (a reason, an upstream error message, an actor's name) may hold anything,
 * escape sequences included: on a terminal it is shown with its control characters escaped, so
 * it cannot move the cursor, recolour or rewrite what the operator sees.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
}

/** Human text on a terminal, one JSON document (or one JSON line per event) with `--json`. */
export class Output {
  constructor(
    readonly json: boolean,
    readonly streams: OutputStreams,
  ) {}

  get isTTY(): boolean {
    return this.streams.stdout.isTTY === true;
  }

  /** The command's result: `value` as JSON, or the human rendering of it. */
  result(value: unknown, human: () => string): void {
    this.streams.stdout.write(this.json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
  }

  /** A line for people only (what is happening); nothing with `--json`. */
  info(text: string): void {
    if (!this.json) this.streams.stdout.write(`${text}\n`);
  }

  error(error: CliError): void {
    if (this.json) {
      const body = {
        error: {
          code: error.code,
          message: error.message,
          status: error.status ?? null,
          details: error.details,
        },
      };
      this.streams.stderr.write(`${JSON.stringify(body)}\n`);
      return;
    }
    const lines = [`error ${error.code}: ${printable(error.message)}`];
    const fields = error.details['fields'];
    if (Array.isArray(fields)) {
      for (const field of fields as Array<{ field?: unknown; message?: unknown }>) {
        lines.push(`  ${printable(String(field.field))}: ${printable(String(field.message))}`);
      }
    }
    for (const [key, value] of Object.entries(error.details)) {
      if (key !== 'fields')
        lines.push(`  ${key}: ${printable(typeof value === 'string' ? value : JSON.stringify(value))}`);
    }
    this.streams.stderr.write(`${lines.join('\n')}\n`);
  }
}

import type { LoggerService, LogLevel } from '@nestjs/common';
import { currentRequestId } from './request-context.js';

const ORDER: Record<string, number> = { verbose: 0, debug: 0, log: 1, info: 1, warn: 2, error: 3, fatal: 4 };

/**
 * Masks what must never reach a log line: bearer tokens and API keys, presigned URL signatures,
 * passwords in URLs, and phone numbers (lead data). Applied to every message, whatever its source.
 */
export function redact(text: string): string {
  return text
    .replace(/(Bearer\s+)[^\s"',]+/gi, '$1[redacted]')
    .replace(/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/(\/\/[^:/\s"']+:)[^@/\s"']+@/g, '$1[redacted]@')
    .replace(/\+?\d[\d\s().-]{7,}\d/g, (match) =>
      match.replace(/\D/g, '').length >= 8 ? '[redacted-number]' : match,
    );
}

/** One JSON object per line on stdout, with the request id when there is one. */
export class JsonLogger implements LoggerService {
  private readonly threshold: number;

  constructor(level: 'debug' | 'info' | 'warn' | 'error' = 'info') {
    this.threshold = ORDER[level] ?? 1;
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }
  setLogLevels(_levels: LogLevel[]): void {
    // the level comes from LOG_LEVEL alone
  }

  private write(level: string, message: unknown, rest: unknown[]): void {
    if ((ORDER[level] ?? 1) < this.threshold) return;
    // Nest passes the context last, and for errors a stack before it.
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    const stack = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    const line: Record<string, unknown> = {
      level,
      time: new Date().toISOString(),
      context,
      requestId: currentRequestId(),
      msg: redact(
        message instanceof Error
          ? message.message
          : typeof message === 'string'
            ? message
            : JSON.stringify(message),
      ),
    };
    if (stack) line['stack'] = redact(stack);
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

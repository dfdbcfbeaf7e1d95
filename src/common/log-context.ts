/**
 * Runs work with fields bound to every log line written during it, whoever writes the line (the
 * runner, the DialNexa client, the archive): the teardown id and the request id of a teardown's
 * run. Implemented by src/ops/logging.module.ts over nestjs-pino's context; without it (unit
 * tests) the work simply runs.
 */
export interface LogContext {
  run<T>(bindings: Readonly<Record<string, string | undefined>>, work: () => Promise<T>): Promise<T>;
}

export const LOG_CONTEXT = Symbol('LOG_CONTEXT');

export const NO_LOG_CONTEXT: LogContext = { run: (_bindings, work) => work() };

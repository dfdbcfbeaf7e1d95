/** The CLI's exit codes (README, "Admin CLI"). */
export const EXIT = {
  /** The command did what was asked (a waited-for teardown completed, an archive verified). */
  OK: 0,
  /** It did not: the API refused, the teardown failed, was rejected or aborted, a check failed. */
  FAILURE: 1,
  /** It was asked wrongly: unknown command or option, a missing argument, VALIDATION_FAILED, no API key. */
  USAGE: 2,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * A failure the CLI reports as `code: message` (or as JSON with `--json`) and exits with.
 * `code` is the API's stable error code when the API answered with one.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode = EXIT.FAILURE,
    readonly details: Record<string, unknown> = {},
    readonly status?: number,
  ) {
    super(message);
  }
}

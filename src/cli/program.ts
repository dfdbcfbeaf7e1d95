import { Command, CommanderError } from 'commander';
import { CliContext, type CliDependencies } from './cli.context.js';
import { CliError, EXIT, type ExitCode } from './cli.error.js';
import { registerArchiveCommands } from './commands/archive.commands.js';
import { registerAuditCommands } from './commands/audit.commands.js';
import { registerHoldCommands } from './commands/hold.commands.js';
import { registerReceiptCommands } from './commands/receipt.commands.js';
import { registerRestoreCommands } from './commands/restore.commands.js';
import { registerTeardownCommands } from './commands/teardown.commands.js';

export const CLI_NAME = 'dialnexa-teardown';

const ENVIRONMENT_HELP = `
Environment:
  DIALNEXA_TEARDOWN_URL      the service's URL (default http://localhost:3000)
  DIALNEXA_TEARDOWN_API_KEY  the API key to call it with (one of the service's API_KEYS)

Exit codes: 0 success, 1 failure (refused, failed, mismatch), 2 usage error.`;

function buildProgram(ctx: CliContext): Command {
  const program = new Command(CLI_NAME)
    .description(
      'Operate dialnexa-teardown: request, follow and decide teardowns, holds, audit, archives, receipts, restores.',
    )
    .option('--json', 'print JSON for scripts (progress as one JSON line per change)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.deps.streams.stdout.write(text),
      writeErr: (text) => ctx.deps.streams.stderr.write(text),
    })
    .addHelpText('after', ENVIRONMENT_HELP)
    .hook('preAction', (command) => ctx.useJson(command.optsWithGlobals<{ json?: boolean }>().json === true));
  registerTeardownCommands(program, ctx);
  registerHoldCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerArchiveCommands(program, ctx);
  registerReceiptCommands(program, ctx);
  registerRestoreCommands(program, ctx);
  return program;
}

/** Runs one command line (without `node` and the script) and answers its exit code. */
export async function runCli(args: string[], deps: CliDependencies): Promise<ExitCode> {
  const ctx = new CliContext(deps);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(args, { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version end with exitCode 0; every other commander error is a usage error
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (error instanceof CliError) {
      ctx.output.error(error);
      return error.exitCode;
    }
    ctx.output.error(
      new CliError(
        'CLI_INTERNAL_ERROR',
        error instanceof Error ? error.message : String(error),
        EXIT.FAILURE,
      ),
    );
    return EXIT.FAILURE;
  }
}

import { type ApiClient, createApiClient } from './api/api.client.js';
import { type CliConfig, CliConfigError, loadCliConfig } from './cli.config.js';
import { CliError, EXIT, type ExitCode } from './cli.error.js';
import { Output, type OutputStreams } from './output.js';

/** What the commands need from the world; tests hand in their own. */
export interface CliDependencies {
  env: Record<string, string | undefined>;
  streams: OutputStreams;
  fetch: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** Shared by every command of one run: its output, its API client (made on first use) and its exit code. */
export class CliContext {
  exitCode: ExitCode = EXIT.OK;
  private json = false;
  private api: { client: ApiClient; config: CliConfig } | null = null;

  constructor(readonly deps: CliDependencies) {}

  useJson(json: boolean): void {
    this.json = json;
  }

  get output(): Output {
    return new Output(this.json, this.deps.streams);
  }

  /** The API client; the environment is read only by commands that call the API. */
  client(): { client: ApiClient; baseUrl: string } {
    if (!this.api) {
      let config: CliConfig;
      try {
        config = loadCliConfig(this.deps.env);
      } catch (error) {
        if (error instanceof CliConfigError)
          throw new CliError('CLI_CONFIG_INVALID', error.message, EXIT.USAGE);
        throw error;
      }
      this.api = { client: createApiClient(config, this.deps.fetch), config };
    }
    return { client: this.api.client, baseUrl: this.api.config.baseUrl };
  }

  fail(): void {
    this.exitCode = EXIT.FAILURE;
  }
}

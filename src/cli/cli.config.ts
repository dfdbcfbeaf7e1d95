import { z } from 'zod';

/**
 * The CLI's settings, from its environment (validated here, once). The CLI is a caller like any
 * other: it talks to the service's REST API with an API key, so its actions are authenticated,
 * authorised and audited as that key's caller.
 */
const cliEnvSchema = z.object({
  DIALNEXA_TEARDOWN_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://localhost:3000' })
    .default('http://localhost:3000'),
  DIALNEXA_TEARDOWN_API_KEY: z
    .string({ error: 'is not set: the API key the CLI calls the service with' })
    .regex(/^[\x21-\x7e]{1,512}$/, 'must be 1-512 printable ASCII characters'),
});

export interface CliConfig {
  /** The service's root URL, without a trailing slash. */
  baseUrl: string;
  apiKey: string;
}

export class CliConfigError extends Error {
  override readonly name = 'CliConfigError';
}

export function loadCliConfig(env: Record<string, string | undefined> = process.env): CliConfig {
  const result = cliEnvSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new CliConfigError(`the environment is not usable: ${problems.join('; ')}`);
  }
  return {
    baseUrl: result.data.DIALNEXA_TEARDOWN_URL.replace(/\/+$/, ''),
    apiKey: result.data.DIALNEXA_TEARDOWN_API_KEY,
  };
}

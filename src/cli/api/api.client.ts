import createClient, { type Client } from 'openapi-fetch';
import type { CliConfig } from '../cli.config.js';
import { CliError, EXIT } from '../cli.error.js';
import type { components, paths } from './openapi-types.generated.js';

export type Schemas = components['schemas'];
export type TeardownResource = Schemas['Teardown'];
export type ApiClient = Client<paths>;

/** The typed client of the service's REST API (generated from openapi/openapi.json). */
export function createApiClient(config: CliConfig, fetchImpl: typeof fetch = globalThis.fetch): ApiClient {
  return createClient<paths>({
    baseUrl: config.baseUrl,
    headers: { authorization: `Bearer ${config.apiKey}` },
    fetch: fetchImpl,
  });
}

interface ErrorBodyLike {
  code?: unknown;
  message?: unknown;
  details?: unknown;
}

/**
 * The data of a call's answer, or a CliError with the API's stable `code` and message. A
 * request that never got an answer is SERVICE_UNREACHABLE; the API's VALIDATION_FAILED is a
 * usage error (exit 2): the command was given something the API does not accept.
 */
export async function call<T>(
  baseUrl: string,
  request: () => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: Awaited<ReturnType<typeof request>>;
  try {
    result = await request();
  } catch (error) {
    const reason =
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
    throw new CliError('SERVICE_UNREACHABLE', `no answer from ${baseUrl}: ${reason}`);
  }
  if (result.response.ok && result.data !== undefined) return result.data;
  const body = (
    typeof result.error === 'object' && result.error !== null ? result.error : {}
  ) as ErrorBodyLike;
  const code = typeof body.code === 'string' ? body.code : `HTTP_${result.response.status}`;
  const message =
    typeof body.message === 'string'
      ? body.message
      : `${result.response.status} ${result.response.statusText}`;
  const details =
    typeof body.details === 'object' && body.details !== null
      ? (body.details as Record<string, unknown>)
      : {};
  throw new CliError(
    code,
    message,
    code === 'VALIDATION_FAILED' ? EXIT.USAGE : EXIT.FAILURE,
    details,
    result.response.status,
  );
}

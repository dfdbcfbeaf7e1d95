import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript';

/**
 * What `npm run openapi` writes and the drift tests compare: the OpenAPI document the service
 * describes itself with, and the client types generated from it (openapi-typescript), which the
 * CLI's openapi-fetch client is typed by.
 */
export const OPENAPI_JSON = 'openapi/openapi.json';
export const CLIENT_TYPES = 'src/cli/api/openapi-types.generated.ts';

/** The client types of an OpenAPI document, as committed in CLIENT_TYPES. */
export async function clientTypesOf(documentText: string): Promise<string> {
  const ast = await openapiTS(JSON.parse(documentText) as OpenAPI3, { exportType: true });
  return `${COMMENT_HEADER}// Generated from ${OPENAPI_JSON} by \`npm run openapi\`.\n\n${astToString(ast)}`;
}

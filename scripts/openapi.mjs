// `npm run openapi` (after `npm run build`): writes the OpenAPI document of the built service to
// openapi/openapi.json and the typed client's types generated from it. Both are committed; the
// drift tests fail when either differs from what this would write.
import { writeFile } from 'node:fs/promises';
import { describeApi, serializeOpenApiDocument } from '../dist/openapi/openapi-document.factory.js';
import { CLIENT_TYPES, clientTypesOf, OPENAPI_JSON } from '../test/support/openapi-codegen.ts';

const text = serializeOpenApiDocument(await describeApi());
await writeFile(OPENAPI_JSON, text);
await writeFile(CLIENT_TYPES, await clientTypesOf(text));
process.stdout.write(`wrote ${OPENAPI_JSON} and ${CLIENT_TYPES}\n`);

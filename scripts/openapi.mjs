// `npm run openapi`: writes the OpenAPI document of the service to openapi/openapi.json and the
// typed client's types generated from it. Both are committed; the drift tests fail when either
// differs from what this would write.
//
// The sources are compiled apart from `npm run build` (into .run/openapi-build) and even when
// they do not type-check: the CLI is typed by the very file this writes, so after a change to
// the API the CLI may not compile until the types are regenerated. Type errors are shown;
// `npm run typecheck` afterwards says whether any remain.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLIENT_TYPES, clientTypesOf, OPENAPI_JSON } from '../test/support/openapi-codegen.ts';

const root = path.join(import.meta.dirname, '..');
const out = path.join(root, '.run', 'openapi-build');
await rm(out, { recursive: true, force: true });
const tsc = spawnSync(
  path.join(root, 'node_modules', '.bin', 'tsc'),
  ['-p', 'tsconfig.build.json', '--outDir', out, '--sourceMap', 'false'],
  { cwd: root, stdio: 'inherit' },
);
const factory = path.join(out, 'openapi', 'openapi-document.factory.js');
if (!existsSync(factory)) {
  console.error(`openapi: the sources did not compile (tsc exited ${tsc.status})`);
  process.exit(1);
}
if (tsc.status !== 0) console.error('openapi: (the type errors above do not stop the generation)');

const { describeApi, serializeOpenApiDocument } = await import(pathToFileURL(factory).href);
const text = serializeOpenApiDocument(await describeApi());
await writeFile(path.join(root, OPENAPI_JSON), text);
await writeFile(path.join(root, CLIENT_TYPES), await clientTypesOf(text));
await rm(out, { recursive: true, force: true });
console.log(`openapi: wrote ${OPENAPI_JSON} and ${CLIENT_TYPES}`);

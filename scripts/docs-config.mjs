// Writes the README's configuration table (between its config-table markers) and .env.example
// from the configuration schema (src/config/app.config.ts) and the words of
// src/config/config.docs.ts. `npm run docs:config`; src/config/config.docs.spec.ts fails when
// either file no longer matches.
//   node --experimental-transform-types --no-warnings scripts/docs-config.mjs
import { readFile, writeFile } from 'node:fs/promises';
import * as prettier from 'prettier';
import { ENV_SCHEMA } from '../src/config/app.config.ts';
import { renderConfigTable, renderEnvExample, replaceConfigTable } from '../src/config/config.docs.ts';

const root = new URL('../', import.meta.url);
const readmePath = new URL('README.md', root);
const readme = replaceConfigTable(await readFile(readmePath, 'utf8'), renderConfigTable(ENV_SCHEMA.shape));
const options = (await prettier.resolveConfig(readmePath)) ?? {};
await writeFile(readmePath, await prettier.format(readme, { ...options, filepath: readmePath.pathname }));
await writeFile(new URL('.env.example', root), renderEnvExample(ENV_SCHEMA.shape));
console.error('docs-config: README.md configuration table and .env.example written');

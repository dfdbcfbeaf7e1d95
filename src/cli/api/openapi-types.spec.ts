import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { CLIENT_TYPES, clientTypesOf, OPENAPI_JSON } from '../../../test/support/openapi-codegen.js';

describe('typed client', () => {
  it(`${CLIENT_TYPES} is what openapi-typescript generates from ${OPENAPI_JSON} (run \`npm run openapi\`)`, async () => {
    const [document, committed] = await Promise.all([
      readFile(OPENAPI_JSON, 'utf8'),
      readFile(CLIENT_TYPES, 'utf8'),
    ]);

    const sut = await clientTypesOf(document);

    expect(sut).toBe(committed);
  });
});

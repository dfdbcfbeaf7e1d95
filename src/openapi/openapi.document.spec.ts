import { describe, expect, it } from '@jest/globals';
import type { OperationObject, ParameterObject, ResponseObject } from '@nestjs/swagger';
import { readFile } from 'node:fs/promises';
import { OPENAPI_JSON } from '../../test/support/openapi-codegen.js';
import { describeApi, serializeOpenApiDocument } from './openapi-document.factory.js';

type Operation = OperationObject & { 'x-error-codes': string[] };

function operationsOf(document: Awaited<ReturnType<typeof describeApi>>): Array<[string, Operation]> {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]): [string, Operation] => [
      `${method.toUpperCase()} ${path}`,
      operation as Operation,
    ]),
  );
}

describe('OpenAPI document', () => {
  it(`matches the committed ${OPENAPI_JSON} (run \`npm run openapi\` after changing a route or schema)`, async () => {
    const committed = await readFile(OPENAPI_JSON, 'utf8');

    const sut = serializeOpenApiDocument(await describeApi());

    expect(sut).toBe(committed);
  });

  it('describes every route of the API, each with its error codes and X-Request-Id', async () => {
    const sut = operationsOf(await describeApi());

    expect(sut.map(([name]) => name).sort()).toEqual([
      'DELETE /v1/holds/{id}',
      'GET /.well-known/jwks.json',
      'GET /healthz',
      'GET /metrics',
      'GET /readyz',
      'GET /v1/audit',
      'GET /v1/audit/verify',
      'GET /v1/holds',
      'GET /v1/restores',
      'GET /v1/restores/{id}',
      'GET /v1/teardowns',
      'GET /v1/teardowns/{id}',
      'GET /v1/teardowns/{id}/archive',
      'GET /v1/teardowns/{id}/audit',
      'GET /v1/teardowns/{id}/receipt',
      'GET /v1/teardowns/{id}/receipt/evidence',
      'POST /v1/holds',
      'POST /v1/restores',
      'POST /v1/teardowns',
      'POST /v1/teardowns/{id}/abort',
      'POST /v1/teardowns/{id}/approve',
      'POST /v1/teardowns/{id}/reject',
      'POST /v1/teardowns/{id}/retry',
    ]);
    const v1 = sut.filter(([name]) => name.includes(' /v1/'));
    expect(
      sut.filter(([, op]) =>
        Object.values(op.responses).some(
          (r) => (r as ResponseObject).headers?.['X-Request-Id'] === undefined,
        ),
      ),
    ).toEqual([]);
    expect(
      v1.filter(
        ([, op]) =>
          !['UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED'].every((code) =>
            op['x-error-codes'].includes(code),
          ) || (op.responses['429'] as ResponseObject | undefined)?.headers?.['Retry-After'] === undefined,
      ),
    ).toEqual([]);
  });

  it('describes the Idempotency-Key header and the errors of requesting a teardown', async () => {
    const document = await describeApi();

    const sut = document.paths['/v1/teardowns']!.post as Operation;

    const header = (sut.parameters as ParameterObject[]).find((p) => p.name === 'Idempotency-Key');
    expect(header).toMatchObject({ in: 'header', required: false, schema: { maxLength: 255 } });
    expect(sut['x-error-codes']).toEqual(
      expect.arrayContaining([
        'VALIDATION_FAILED',
        'TEARDOWN_IN_PROGRESS',
        'WORKFLOW_ON_HOLD',
        'IDEMPOTENCY_KEY_REUSED',
      ]),
    );
    expect(Object.keys(sut.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '409', '422']));
  });
});

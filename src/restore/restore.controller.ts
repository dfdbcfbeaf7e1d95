import { Body, Controller, Get, Headers, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Roles } from '../auth/api-key.guard.js';
import type { Caller } from '../auth/caller.js';
import { CurrentCaller } from '../auth/current-caller.decorator.js';
import { idempotencyKeySchema } from '../common/idempotency-key.dto.js';
import { restoreIdSchema } from '../common/ids.dto.js';
import { PathIdPipe } from '../common/path-id.pipe.js';
import { validated, ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { ApiRoute, jsonSchemaOf } from '../openapi/api-docs.decorators.js';
import {
  createRestoreSchema,
  type CreateRestoreDto,
  listRestoresSchema,
  type ListRestoresDto,
} from './restore.dto.js';
import { presentRestore, restorePageSchema, restoreResourceSchema } from './restore.presenter.js';
import { RestoreService } from './restore.service.js';

const idempotencyPipe = new ZodValidationPipe(idempotencyKeySchema.optional(), 'Idempotency-Key');

@Controller('v1/restores')
@ApiTags('restores')
@ApiBearerAuth('apiKey')
export class RestoreController {
  constructor(private readonly restores: RestoreService) {}

  @Post()
  @Roles('admin')
  @ApiRoute({
    summary: "Restore a deleted workflow from its teardown's archive, as a new draft",
    description:
      'Role `admin`. Answers 202 with the new restore; the same Idempotency-Key with the same body from ' +
      'the same caller answers 200 with the same restore. `snapshot` defaults to `final` when the ' +
      'teardown has one; `excludeLeadStatuses` to `["removed"]`. A dry run verifies the archive and ' +
      'reports what would be created, creating nothing.',
    status: 202,
    schema: restoreResourceSchema,
    errors: [
      'TEARDOWN_NOT_FOUND',
      'TEARDOWN_NOT_RESTORABLE',
      'RESTORE_SNAPSHOT_MISSING',
      'IDEMPOTENCY_KEY_REUSED',
    ],
  })
  @ApiResponse({
    status: 200,
    standardSchema: restoreResourceSchema,
    description: 'a replay: the restore this Idempotency-Key created',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'replays the first answer to the same caller and body',
    schema: jsonSchemaOf(idempotencyKeySchema),
  })
  async create(
    @CurrentCaller() caller: Caller,
    @Body(validated(createRestoreSchema)) body: CreateRestoreDto,
    @Headers('idempotency-key') rawIdempotencyKey: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const idempotencyKey = idempotencyPipe.transform(rawIdempotencyKey);
    const { restore, replayed } = await this.restores.create(caller, body, idempotencyKey);
    response.status(replayed ? 200 : 202);
    response.setHeader('Location', `/v1/restores/${restore.id}`);
    if (!replayed) return presentRestore(restore, []);
    // a replay answers the restore as it is now, as GET does: its id map and progress included
    const current = await this.restores.get(restore.id);
    return presentRestore(current.restore, current.items);
  }

  @Get()
  @Roles('auditor')
  @ApiRoute({
    summary: "A teardown's restores, newest first",
    description: 'Roles `admin`, `auditor`.',
    status: 200,
    schema: restorePageSchema,
  })
  async list(@Query(validated(listRestoresSchema)) query: ListRestoresDto) {
    const found = await this.restores.list(query);
    return { data: found.map(({ restore, items }) => presentRestore(restore, items)) };
  }

  @Get(':id')
  @Roles('auditor')
  @ApiRoute({
    summary: 'A restore: status, progress, id map, what was not restored, error',
    description: 'Roles `admin`, `auditor`.',
    status: 200,
    schema: restoreResourceSchema,
    errors: ['RESTORE_NOT_FOUND'],
  })
  @ApiParam({ name: 'id', description: 'a restore id (`rst_…`)', schema: { type: 'string' } })
  async get(@Param('id', new PathIdPipe(restoreIdSchema, 'RESTORE_NOT_FOUND', 'restore')) id: string) {
    const { restore, items } = await this.restores.get(id);
    return presentRestore(restore, items);
  }
}

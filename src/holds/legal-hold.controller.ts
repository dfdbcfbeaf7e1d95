import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/api-key.guard.js';
import type { Caller } from '../auth/caller.js';
import { CurrentCaller } from '../auth/current-caller.decorator.js';
import { PathIdPipe } from '../common/path-id.pipe.js';
import { validated } from '../common/zod-validation.pipe.js';
import { ApiRoute } from '../openapi/api-docs.decorators.js';
import {
  holdIdSchema,
  holdPageSchema,
  holdResourceSchema,
  listHoldsSchema,
  placedHoldSchema,
  type ListHoldsDto,
  placeHoldSchema,
  type PlaceHoldDto,
} from './legal-hold.dto.js';
import { presentHold } from './legal-hold.js';
import { LegalHoldService } from './legal-hold.service.js';

/**
 * Legal holds (service contract). A hold stops every teardown of its workflow before the cancel,
 * including one already waiting or exporting; the teardown then fails with WORKFLOW_ON_HOLD,
 * retryable once the hold is lifted.
 */
@Controller('v1/holds')
@ApiTags('holds')
@ApiBearerAuth('apiKey')
export class LegalHoldController {
  constructor(private readonly holds: LegalHoldService) {}

  @Post()
  @HttpCode(201)
  @Roles('admin')
  @ApiRoute({
    summary: 'Place a legal hold on a workflow',
    description:
      'Role `admin`. Lists every teardown of the workflow that is not completed, with whether its ' +
      'cancel or a DELETE may already have reached DialNexa.',
    status: 201,
    schema: placedHoldSchema,
  })
  async place(@CurrentCaller() caller: Caller, @Body(validated(placeHoldSchema)) body: PlaceHoldDto) {
    const { hold, teardowns } = await this.holds.place(body.workflowId, body.reason, caller.name);
    // Teardowns whose cancel was already sent cannot be stopped any more: say so.
    return { ...presentHold(hold), teardowns };
  }

  @Delete(':id')
  @Roles('admin')
  @ApiRoute({
    summary: 'Lift a legal hold',
    description: 'Role `admin`.',
    status: 200,
    schema: holdResourceSchema,
    errors: ['HOLD_NOT_FOUND', 'HOLD_ALREADY_LIFTED'],
  })
  @ApiParam({ name: 'id', description: 'a hold id (`hold_…`)', schema: { type: 'string' } })
  async lift(
    @CurrentCaller() caller: Caller,
    @Param('id', new PathIdPipe(holdIdSchema, 'HOLD_NOT_FOUND', 'hold')) id: string,
  ) {
    return presentHold(await this.holds.lift(id, caller.name));
  }

  @Get()
  @Roles('admin', 'auditor')
  @ApiRoute({
    summary: 'List legal holds',
    description: 'Roles `admin`, `auditor`.',
    status: 200,
    schema: holdPageSchema,
  })
  async list(@Query(validated(listHoldsSchema)) query: ListHoldsDto) {
    const rows = await this.holds.list(
      { workflowId: query.workflowId, active: query.active },
      query.limit + 1,
      query.cursor,
    );
    const data = rows.slice(0, query.limit);
    return {
      data: data.map(presentHold),
      nextCursor: rows.length > query.limit ? data[data.length - 1]!.id : null,
    };
  }
}

import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { Roles } from '../auth/api-key.guard.js';
import type { Caller } from '../auth/caller.js';
import { CurrentCaller } from '../auth/current-caller.decorator.js';
import { teardownIdSchema } from '../common/ids.dto.js';
import { PathIdPipe } from '../common/path-id.pipe.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { presentTeardown } from '../teardown/teardown.presenter.js';
import type { Decision } from './approval.js';
import { type DecisionDto, decisionSchema } from './approval.dto.js';
import { ApprovalService } from './approval.service.js';

const idPipe = new PathIdPipe(teardownIdSchema, 'TEARDOWN_NOT_FOUND', 'teardown');

/**
 * Approving and rejecting a teardown (service contract: role `approver`, never the requester).
 * Both answer with the teardown resource, as `GET /v1/teardowns/{id}` shows it.
 */
@Controller('v1/teardowns')
export class ApprovalController {
  constructor(private readonly approvals: ApprovalService) {}

  @Post(':id/approve')
  @HttpCode(200)
  @Roles('approver')
  async approve(
    @CurrentCaller() caller: Caller,
    @Param('id', idPipe) id: string,
    @Body(new ZodValidationPipe(decisionSchema)) body: DecisionDto,
  ) {
    return this.decide(caller, id, 'approved', body);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @Roles('approver')
  async reject(
    @CurrentCaller() caller: Caller,
    @Param('id', idPipe) id: string,
    @Body(new ZodValidationPipe(decisionSchema)) body: DecisionDto,
  ) {
    return this.decide(caller, id, 'rejected', body);
  }

  private async decide(caller: Caller, id: string, decision: Decision, body: DecisionDto) {
    const { teardown, approvals } = await this.approvals.decide(caller, id, decision, body.comment ?? null);
    return presentTeardown(teardown, approvals);
  }
}

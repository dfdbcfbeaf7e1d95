import { Controller, Get, Param, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/api-key.guard.js';
import { hasRole } from '../auth/caller.js';
import { PathIdPipe } from '../common/path-id.pipe.js';
import { holdIdSchema } from '../holds/legal-hold.dto.js';
import { presentHold } from '../holds/legal-hold.js';
import { LegalHoldService } from '../holds/legal-hold.service.js';
import { ConsoleAuthGuard } from './console-auth.guard.js';
import { ConsoleExceptionFilter } from './console-exception.filter.js';
import { holdFormSchema, parseForm } from './console-forms.js';
import { callerOfRequest, type ConsoleRequest, frameOf, requireRole } from './console-request.js';
import { ConsoleViews } from './console-views.js';

const HOLDS_SHOWN = 100;

/** Legal holds: admins place and lift them, auditors see them (the REST API's roles). */
@Controller('console/holds')
@Public()
@ApiExcludeController()
@UseGuards(ConsoleAuthGuard)
@UseFilters(ConsoleExceptionFilter)
export class ConsoleHoldsController {
  constructor(
    private readonly holds: LegalHoldService,
    private readonly views: ConsoleViews,
  ) {}

  @Get()
  async list(@Req() request: ConsoleRequest, @Res() response: Response): Promise<void> {
    const caller = callerOfRequest(request);
    requireRole(caller, 'admin', 'auditor');
    const holds = (await this.holds.list({}, HOLDS_SHOWN)).map(presentHold);
    this.views.render(response, 'holds', frameOf(request, 'Legal holds', 'holds'), {
      active: holds.filter((h) => h.liftedAt === null),
      lifted: holds.filter((h) => h.liftedAt !== null),
      canChange: hasRole(caller, 'admin'),
    });
  }

  /**
   * Places the hold and shows what it stopped: the workflow's unfinished teardowns, split into
   * those it stops (no cancel sent yet) and those it came too late for (cancel or DELETE sent).
   */
  @Post()
  async place(@Req() request: ConsoleRequest, @Res() response: Response): Promise<void> {
    const caller = callerOfRequest(request);
    requireRole(caller, 'admin');
    const form = parseForm(holdFormSchema, request.body);
    const { hold, teardowns } = await this.holds.place(form.workflowId, form.reason, caller.name);
    this.views.render(
      response,
      'hold-placed',
      frameOf(request, 'Hold placed', 'holds'),
      {
        hold: presentHold(hold),
        stopped: teardowns.filter((t) => !t.cancelSent && !t.deleteSent),
        tooLate: teardowns.filter((t) => t.cancelSent || t.deleteSent),
      },
      201,
    );
  }

  @Post(':id/lift')
  async lift(
    @Req() request: ConsoleRequest,
    @Res() response: Response,
    @Param('id', new PathIdPipe(holdIdSchema, 'HOLD_NOT_FOUND', 'hold')) id: string,
  ): Promise<void> {
    const caller = callerOfRequest(request);
    requireRole(caller, 'admin');
    await this.holds.lift(id, caller.name);
    response.redirect(303, '/console/holds');
  }
}

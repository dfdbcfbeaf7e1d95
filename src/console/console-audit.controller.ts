import { Controller, Get, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuditAnchorService } from '../audit/audit-anchor.service.js';
import { Public } from '../auth/api-key.guard.js';
import { ConsoleAuthGuard } from './console-auth.guard.js';
import { ConsoleExceptionFilter } from './console-exception.filter.js';
import { callerOfRequest, type ConsoleRequest, frameOf, requireRole } from './console-request.js';
import { ConsoleViews } from './console-views.js';
import { durationText } from './teardown-view.js';

/** The audit chain's verification and its anchors (GET /v1/audit/verify's service), for auditors. */
@Controller('console/audit')
@Public()
@ApiExcludeController()
@UseGuards(ConsoleAuthGuard)
@UseFilters(ConsoleExceptionFilter)
export class ConsoleAuditController {
  constructor(
    private readonly anchors: AuditAnchorService,
    private readonly views: ConsoleViews,
  ) {}

  @Get()
  async verify(@Req() request: ConsoleRequest, @Res() response: Response): Promise<void> {
    requireRole(callerOfRequest(request), 'auditor');
    const report = await this.anchors.verify();
    this.views.render(response, 'audit', frameOf(request, 'Audit chain', 'audit'), {
      report,
      lagText: durationText(report.anchors.lagSeconds),
    });
  }
}

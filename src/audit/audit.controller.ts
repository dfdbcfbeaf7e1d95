import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Roles } from '../auth/api-key.guard.js';
import { validated } from '../common/zod-validation.pipe.js';
import { ApiRoute } from '../openapi/api-docs.decorators.js';
import { auditEventPageSchema, verificationReportSchema } from './audit.dto.js';
import { AuditAnchorService } from './audit-anchor.service.js';
import { AUDIT_EVENT_TYPES } from './audit-event.js';
import { AuditRepository } from './audit.repository.js';

const listAuditSchema = z.strictObject({
  workflowId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  teardownId: z
    .string()
    .regex(/^td_[0-9A-Z]{26}$/)
    .optional(),
  type: z.enum(AUDIT_EVENT_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z
    .string()
    .regex(/^[0-9]{1,18}$/, 'is not a cursor from this API')
    .optional(),
});

@Controller('v1/audit')
@ApiTags('audit')
@ApiBearerAuth('apiKey')
export class AuditController {
  constructor(
    private readonly audit: AuditRepository,
    private readonly anchors: AuditAnchorService,
  ) {}

  /** Oldest first; the cursor is opaque to callers (it is the last `seq` of the page). */
  @Get()
  @Roles('auditor')
  @ApiRoute({
    summary: 'Audit events, oldest first',
    description: 'Role `auditor`.',
    status: 200,
    schema: auditEventPageSchema,
  })
  async list(@Query(validated(listAuditSchema)) query: z.output<typeof listAuditSchema>) {
    const rows = await this.audit.list(
      { workflowId: query.workflowId, teardownId: query.teardownId, type: query.type },
      query.limit + 1,
      query.cursor === undefined ? undefined : Number(query.cursor),
    );
    const data = rows.slice(0, query.limit);
    return { data, nextCursor: rows.length > query.limit ? String(data[data.length - 1]!.seq) : null };
  }

  /** The chain walked event by event, then compared with the anchors in the bucket. */
  @Get('verify')
  @Roles('auditor')
  @ApiRoute({
    summary: 'Verify the audit chain, and the chain against its anchors in the bucket',
    description: 'Role `auditor`. `ok: false` names the first event that does not match.',
    status: 200,
    schema: verificationReportSchema,
    errors: ['ARCHIVE_STORE_UNAVAILABLE'],
  })
  async verify() {
    return this.anchors.verify();
  }
}

import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { TeardownModule } from '../teardown/teardown.module.js';
import { ConsoleAssetsController } from './console-assets.controller.js';
import { ConsoleAuditController } from './console-audit.controller.js';
import { ConsoleAuthController } from './console-auth.controller.js';
import { ConsoleAuthGuard } from './console-auth.guard.js';
import { ConsoleExceptionFilter } from './console-exception.filter.js';
import { ConsoleHoldsController } from './console-holds.controller.js';
import { ConsoleRestoresController } from './console-restores.controller.js';
import { ConsoleSessionRepository } from './console-session.repository.js';
import { ConsoleSessionService } from './console-session.service.js';
import { ConsoleTeardownsController } from './console-teardowns.controller.js';
import { ConsoleViews } from './console-views.js';
import { SsoIdentity } from './sso-identity.js';
import { TeardownPageService } from './teardown-page.service.js';

/**
 * The web console at /console: server-rendered pages for approvers, admins and auditors. It sits
 * on top, like the REST controllers: every action goes through the use cases the REST API uses
 * (TeardownService, ApprovalService, LegalHoldService, RestoreService, AuditAnchorService,
 * ReceiptService), so it
 * is audited as the signed-in person under the same rules.
 */
@Module({
  imports: [AuthModule, TeardownModule],
  controllers: [
    ConsoleAssetsController,
    ConsoleAuthController,
    ConsoleTeardownsController,
    ConsoleHoldsController,
    ConsoleAuditController,
    ConsoleRestoresController,
  ],
  providers: [
    ConsoleAuthGuard,
    ConsoleExceptionFilter,
    ConsoleSessionRepository,
    ConsoleSessionService,
    ConsoleViews,
    SsoIdentity,
    TeardownPageService,
  ],
})
export class ConsoleModule {}

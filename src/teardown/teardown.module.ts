import { Module } from '@nestjs/common';
import { ApprovalsModule } from '../approvals/approvals.module.js';
import { ArchiveModule } from '../archive/archive.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { DialnexaModule } from '../dialnexa/dialnexa.module.js';
import { LegalHoldModule, LegalHoldRepositoryModule } from '../holds/legal-hold.module.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { ReceiptModule } from '../receipts/receipt.module.js';
import { RestoreModule } from '../restore/restore.module.js';
import { TeardownController } from './teardown.controller.js';
import { TeardownReceiptController } from './teardown-receipt.controller.js';
import { TeardownRepository } from './teardown.repository.js';
import { DestructiveCallGate } from './destructive-call.gate.js';
import { TeardownRunner } from './teardown.runner.js';
import { TeardownService } from './teardown.service.js';
import { TeardownWorker } from './teardown.worker.js';

/**
 * The teardown table's repository alone, so that the approvals and holds modules can be given it
 * as their ApprovalSubjects and HeldTeardowns ports without importing TeardownModule (which imports
 * them). It takes part in the holds module's workflow lock through LegalHoldRepositoryModule.
 */
@Module({
  imports: [AuditModule, LegalHoldRepositoryModule],
  providers: [TeardownRepository],
  exports: [TeardownRepository],
})
export class TeardownRepositoryModule {}

@Module({
  imports: [
    ArchiveModule,
    AuditModule,
    DialnexaModule,
    JobsModule,
    ReceiptModule,
    TeardownRepositoryModule,
    ApprovalsModule.register({ imports: [TeardownRepositoryModule], subjects: TeardownRepository }),
    LegalHoldModule.register({ imports: [TeardownRepositoryModule], teardowns: TeardownRepository }),
    RestoreModule.register({ imports: [TeardownRepositoryModule], teardowns: TeardownRepository }),
  ],
  controllers: [TeardownController, TeardownReceiptController],
  providers: [DestructiveCallGate, TeardownRunner, TeardownService, TeardownWorker],
  // the web console (src/console/) acts through the same use cases as the REST controllers
  exports: [
    TeardownService,
    ApprovalsModule,
    LegalHoldModule,
    RestoreModule,
    ReceiptModule,
    AuditModule,
    DialnexaModule,
  ],
})
export class TeardownModule {}

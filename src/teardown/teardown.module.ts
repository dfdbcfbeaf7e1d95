import { Module } from '@nestjs/common';
import { ArchiveModule } from '../archive/archive.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { DialnexaModule } from '../dialnexa/dialnexa.module.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { TeardownController } from './teardown.controller.js';
import { TeardownRepository } from './teardown.repository.js';
import { DestructiveCallGate } from './destructive-call.gate.js';
import { TeardownRunner } from './teardown.runner.js';
import { TeardownService } from './teardown.service.js';
import { TeardownWorker } from './teardown.worker.js';

@Module({
  imports: [ArchiveModule, AuditModule, DialnexaModule, JobsModule],
  controllers: [TeardownController],
  providers: [TeardownRepository, DestructiveCallGate, TeardownRunner, TeardownService, TeardownWorker],
})
export class TeardownModule {}

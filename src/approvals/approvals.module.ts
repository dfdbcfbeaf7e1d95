import { type DynamicModule, Module, type ModuleMetadata, type Type } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { APPROVAL_SUBJECTS, type ApprovalSubjects } from './approval.js';
import { ApprovalController } from './approval.controller.js';
import { ApprovalRepository } from './approval.repository.js';
import { ApprovalService } from './approval.service.js';

export interface ApprovalsModuleOptions {
  /** Modules that export `subjects`. */
  imports: NonNullable<ModuleMetadata['imports']>;
  /** The provider that implements the ApprovalSubjects port (the teardown module's repository). */
  subjects: Type<ApprovalSubjects>;
}

/**
 * Four-eyes approval. The teardown module imports this one (to list approvals and sweep expired
 * ones) and hands it the ApprovalSubjects port in `register`, so this module never imports the
 * teardown module: the dependency runs one way.
 */
@Module({})
export class ApprovalsModule {
  static register(options: ApprovalsModuleOptions): DynamicModule {
    return {
      module: ApprovalsModule,
      imports: [AuditModule, JobsModule, ...options.imports],
      controllers: [ApprovalController],
      providers: [
        ApprovalRepository,
        ApprovalService,
        { provide: APPROVAL_SUBJECTS, useExisting: options.subjects },
      ],
      exports: [ApprovalService],
    };
  }
}

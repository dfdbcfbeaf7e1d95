import { type DynamicModule, Module, type ModuleMetadata, type Type } from '@nestjs/common';
import { ArchiveModule } from '../archive/archive.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { DialnexaClient } from '../dialnexa/dialnexa.client.js';
import { DialnexaModule } from '../dialnexa/dialnexa.module.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { leadsCsv } from './leads-csv.js';
import { RestoreController } from './restore.controller.js';
import { LEADS_CSV_ENCODER } from './restore-leads.js';
import { RestoreRepository } from './restore.repository.js';
import { RestoreRunner } from './restore.runner.js';
import { RestoreService } from './restore.service.js';
import { RESTORE_UPSTREAM } from './restore-upstream.js';
import { RestoreWorker } from './restore.worker.js';
import { RESTORABLE_TEARDOWNS, type RestorableTeardowns } from './restore.js';

export interface RestoreModuleOptions {
  /** Modules that export `teardowns`. */
  imports: NonNullable<ModuleMetadata['imports']>;
  /** The provider that implements the RestorableTeardowns port (the teardown module's repository). */
  teardowns: Type<RestorableTeardowns>;
}

/**
 * Restores: the routes, the use cases and the runner. The teardown module registers it and hands
 * it the RestorableTeardowns port, so this module never imports the teardown module.
 */
@Module({})
export class RestoreModule {
  static register(options: RestoreModuleOptions): DynamicModule {
    return {
      module: RestoreModule,
      imports: [ArchiveModule, AuditModule, DialnexaModule, JobsModule, ...options.imports],
      controllers: [RestoreController],
      providers: [
        RestoreRepository,
        RestoreRunner,
        RestoreService,
        RestoreWorker,
        { provide: RESTORABLE_TEARDOWNS, useExisting: options.teardowns },
        { provide: RESTORE_UPSTREAM, useExisting: DialnexaClient },
        { provide: LEADS_CSV_ENCODER, useValue: leadsCsv },
      ],
      // the web console starts and shows restores through the same use cases
      exports: [RestoreService],
    };
  }
}

import { type DynamicModule, Module, type ModuleMetadata, type Type } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { HELD_TEARDOWNS, type HeldTeardowns } from './legal-hold.js';
import { LegalHoldController } from './legal-hold.controller.js';
import { LegalHoldRepository } from './legal-hold.repository.js';
import { LegalHoldService } from './legal-hold.service.js';

/**
 * The legal_hold table's repository alone: the workflow lock and the hold check that the teardown
 * repository takes part with in its own units of work. It depends on no other module.
 */
@Module({ providers: [LegalHoldRepository], exports: [LegalHoldRepository] })
export class LegalHoldRepositoryModule {}

export interface LegalHoldModuleOptions {
  /** Modules that export `teardowns`. */
  imports: NonNullable<ModuleMetadata['imports']>;
  /** The provider that implements the HeldTeardowns port (the teardown module's repository). */
  teardowns: Type<HeldTeardowns>;
}

/**
 * Legal holds: the routes and the use cases. The teardown module registers it and hands it the
 * HeldTeardowns port, so this module never imports the teardown module: the dependency runs one
 * way (teardown → holds).
 */
@Module({})
export class LegalHoldModule {
  static register(options: LegalHoldModuleOptions): DynamicModule {
    return {
      module: LegalHoldModule,
      imports: [AuditModule, LegalHoldRepositoryModule, ...options.imports],
      controllers: [LegalHoldController],
      providers: [LegalHoldService, { provide: HELD_TEARDOWNS, useExisting: options.teardowns }],
      exports: [LegalHoldService],
    };
  }
}

import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ArchiveModule } from '../archive/archive.module.js';
import { DialnexaModule } from '../dialnexa/dialnexa.module.js';
import { HealthController } from './health.controller.js';
import { HealthRepository } from './health.repository.js';
import { ShutdownState } from './shutdown.state.js';

/** Health (`/healthz`, `/readyz`); the metrics are MetricsModule's, logging LoggingModule's. */
@Module({
  // the failing check is logged by HealthController with its reason; terminus adds its summary
  imports: [ArchiveModule, DialnexaModule, TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [HealthController],
  providers: [HealthRepository, ShutdownState],
})
export class OpsModule {}

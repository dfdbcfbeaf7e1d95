import { Module } from '@nestjs/common';
import { ArchiveModule } from '../archive/archive.module.js';
import { DialnexaModule } from '../dialnexa/dialnexa.module.js';
import { HealthController } from './health.controller.js';
import { HealthRepository } from './health.repository.js';

@Module({
  imports: [ArchiveModule, DialnexaModule],
  controllers: [HealthController],
  providers: [HealthRepository],
})
export class OpsModule {}

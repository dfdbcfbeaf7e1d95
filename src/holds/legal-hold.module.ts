import { Module } from '@nestjs/common';
import { LegalHoldController } from './legal-hold.controller.js';
import { LegalHoldRepository } from './legal-hold.repository.js';

@Module({
  controllers: [LegalHoldController],
  providers: [LegalHoldRepository],
  exports: [LegalHoldRepository],
})
export class LegalHoldModule {}

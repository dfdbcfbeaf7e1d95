import { Module } from '@nestjs/common';
import { ArchiveModule } from '../archive/archive.module.js';
import { AuditAnchorService } from './audit-anchor.service.js';
import { AuditController } from './audit.controller.js';
import { AuditRepository } from './audit.repository.js';

@Module({
  imports: [ArchiveModule],
  controllers: [AuditController],
  providers: [AuditRepository, AuditAnchorService],
  exports: [AuditRepository, AuditAnchorService],
})
export class AuditModule {}

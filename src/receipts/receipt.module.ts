import { Module } from '@nestjs/common';
import { ArchiveModule } from '../archive/archive.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { JwksController } from './jwks.controller.js';
import { ReceiptService } from './receipt.service.js';

@Module({
  imports: [ArchiveModule, AuditModule],
  controllers: [JwksController],
  providers: [ReceiptService],
  exports: [ReceiptService],
})
export class ReceiptModule {}

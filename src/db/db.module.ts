import { Global, Module } from '@nestjs/common';
import { IdempotencyRepository } from './idempotency.repository.js';
import { PrismaUnitOfWork } from './prisma-unit-of-work.js';
import { PrismaService } from './prisma.service.js';
import { UnitOfWork } from './unit-of-work.js';

@Global()
@Module({
  providers: [PrismaService, IdempotencyRepository, { provide: UnitOfWork, useClass: PrismaUnitOfWork }],
  exports: [PrismaService, IdempotencyRepository, UnitOfWork],
})
export class DbModule {}

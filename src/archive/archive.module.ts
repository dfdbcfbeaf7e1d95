import { Module } from '@nestjs/common';
import { ArchiveStoreClient } from './archive-store.client.js';
import { ArchiveService } from './archive.service.js';

@Module({ providers: [ArchiveStoreClient, ArchiveService], exports: [ArchiveService, ArchiveStoreClient] })
export class ArchiveModule {}

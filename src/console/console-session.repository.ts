import { Injectable } from '@nestjs/common';
import { ulid } from '../common/ids.js';
import { PrismaService } from '../db/prisma.service.js';
import type { Role } from '../config/app.config.js';
import type { ConsoleSession, NewConsoleSession, SignInMethod } from './console-session.js';

/** The console_session table. Sessions are found by the SHA-256 of their token only. */
@Injectable()
export class ConsoleSessionRepository {
  constructor(private readonly prisma: PrismaService) {}

  async insert(session: NewConsoleSession): Promise<ConsoleSession> {
    const row = await this.prisma.consoleSession.create({ data: { id: `cs_${ulid()}`, ...session } });
    return toDomain(row);
  }

  async findByTokenDigest(tokenSha256: string): Promise<ConsoleSession | null> {
    const row = await this.prisma.consoleSession.findUnique({ where: { tokenSha256 } });
    return row ? toDomain(row) : null;
  }

  async revoke(id: string, at: Date): Promise<void> {
    await this.prisma.consoleSession.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } });
  }

  /** Drops sessions that expired before `before`: they can never be used again. */
  async deleteExpired(before: Date): Promise<number> {
    return (await this.prisma.consoleSession.deleteMany({ where: { expiresAt: { lt: before } } })).count;
  }
}

function toDomain(row: {
  id: string;
  callerName: string;
  roles: string[];
  method: string;
  csrfSecret: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}): ConsoleSession {
  return {
    id: row.id,
    callerName: row.callerName,
    roles: row.roles as Role[],
    method: row.method as SignInMethod,
    csrfSecret: row.csrfSecret,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
  };
}

import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Public } from '../auth/api-key.guard.js';
import { DomainError } from '../common/domain-error.js';
import { ASSETS_DIR } from './console-views.js';

const TYPES = { 'console.css': 'text/css; charset=utf-8', 'console.js': 'text/javascript; charset=utf-8' };
type AssetName = keyof typeof TYPES;

/** The console's one stylesheet and one script, same origin (the CSP allows nothing else). */
@Controller('console/assets')
@Public()
@ApiExcludeController()
export class ConsoleAssetsController {
  private readonly assets = new Map<AssetName, Buffer>(
    (Object.keys(TYPES) as AssetName[]).map((name) => [name, readFileSync(join(ASSETS_DIR, name))]),
  );

  @Get(':name')
  asset(@Param('name') name: string, @Res() response: Response): void {
    const body = this.assets.get(name as AssetName);
    if (!body) throw new DomainError('ROUTE_NOT_FOUND', 'no such console asset');
    response
      .status(200)
      .type(TYPES[name as AssetName])
      .send(body);
  }
}

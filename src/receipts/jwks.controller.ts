import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/api-key.guard.js';
import { jwksSchema } from './receipt.dto.js';
import { ReceiptService } from './receipt.service.js';

@Controller('.well-known')
@Public()
@ApiTags('receipts')
export class JwksController {
  constructor(private readonly receipts: ReceiptService) {}

  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({
    summary:
      'The public keys that deletion receipts are signed with (JWK set, Ed25519, kid = RFC 7638 thumbprint)',
  })
  @ApiResponse({
    status: 200,
    standardSchema: jwksSchema,
    description: 'the current key first, then earlier ones',
  })
  jwks() {
    return this.receipts.jwks();
  }
}

import { Body, Controller, Param, Put, UseGuards } from '@nestjs/common';
import { FederationAuthGuard } from '../auth/federation-auth.guard.js';
import { FederationOrigin } from '../auth/federation-origin.decorator.js';
import { TransactionDto } from '../dto/keys.dto.js';
import { TransactionService } from '../services/transaction.service.js';

/** Transactions pushed by other servers. */
@Controller('_matrix/federation/v1')
@UseGuards(FederationAuthGuard)
export class FederationTransactionController {
  constructor(private readonly transactions: TransactionService) {}

  /** PUT /_matrix/federation/v1/send/{txnId} */
  @Put('send/:txnId')
  send(@FederationOrigin() origin: string, @Param('txnId') txnId: string, @Body() body: TransactionDto) {
    return this.transactions.receive(origin, txnId, body);
  }
}

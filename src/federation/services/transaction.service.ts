import { Injectable, Logger } from '@nestjs/common';
import { M } from '../../common/errors/matrix-error.js';
import { RemoteDevicesService } from './remote-devices.service.js';

export interface IncomingTransaction {
  origin: string;
  origin_server_ts: number;
  pdus: unknown[];
  edus?: unknown[];
}

const MAX_PDUS = 50;
const MAX_EDUS = 100;

/** `PUT /_matrix/federation/v1/send/{txnId}`: EDUs about device lists are applied; PDUs wait for room federation. */
@Injectable()
export class TransactionService {
  private readonly logger = new Logger(TransactionService.name);

  constructor(private readonly remoteDevices: RemoteDevicesService) {}

  async receive(
    origin: string,
    txnId: string,
    txn: IncomingTransaction,
  ): Promise<{ pdus: Record<string, never> }> {
    if (txn.origin !== origin)
      throw M.forbidden(`The transaction claims to come from ${txn.origin}, not ${origin}`);
    if (txn.pdus.length > MAX_PDUS) throw M.badJson(`A transaction holds at most ${MAX_PDUS} PDUs`);
    if ((txn.edus?.length ?? 0) > MAX_EDUS) throw M.badJson(`A transaction holds at most ${MAX_EDUS} EDUs`);
    for (const edu of txn.edus ?? []) {
      const { edu_type: type, content } = (edu ?? {}) as { edu_type?: unknown; content?: unknown };
      try {
        if (type === 'm.device_list_update' || type === 'm.signing_key_update') {
          await this.remoteDevices.onDeviceListUpdate(origin, content);
        }
      } catch (err) {
        // One bad EDU must not make the sender retry the whole transaction forever.
        this.logger.warn(`EDU ${String(type)} in ${origin}'s transaction ${txnId} failed: ${String(err)}`);
      }
    }
    return { pdus: {} };
  }
}

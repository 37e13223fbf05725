import { IsObject } from 'class-validator';

/** PUT /sendToDevice/{eventType}/{txnId}: user ID → device ID (or `*`) → content (checked by ToDeviceService). */
export class SendToDeviceDto {
  @IsObject()
  messages!: Record<string, unknown>;
}

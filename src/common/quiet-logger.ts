import { Logger } from 'nestjs-pino';

/** Nest's start-up chatter (one line per module and route) is debug detail, not operator information. */
const CHATTY_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

export class QuietLogger extends Logger {
  override log(message: unknown, ...optional: unknown[]): void {
    const context = optional[optional.length - 1];
    if (typeof context === 'string' && CHATTY_CONTEXTS.has(context)) {
      super.debug(message, ...optional);
      return;
    }
    super.log(message, ...optional);
  }
}

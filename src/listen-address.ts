import { createServer } from 'node:net';
import type { AppConfig } from './config/app-config.js';

/** The HTTP listener cannot have its address: one line for the operator, like PreflightError. */
export class ListenError extends Error {}

/** Binds the configured address and port once and lets go, turning a refusal into a ListenError. */
export async function checkListenAddress(config: AppConfig): Promise<void> {
  // Port 0 asks for any free port: nothing can be learnt by taking one now.
  if (config.PORT === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(config.PORT, config.BIND_ADDRESS, resolve);
    });
  } catch (err) {
    throw listenError(err, config) ?? err;
  } finally {
    if (probe.listening) await new Promise((resolve) => probe.close(resolve));
  }
}

/** One line naming the address, the reason and the setting to change; null for an error that is not about binding. */
export function listenError(err: unknown, config: AppConfig): ListenError | null {
  const code = (err as { code?: unknown }).code;
  // System error codes (EADDRINUSE...), not Node's own ERR_* ones, which are bugs to show in full.
  if (typeof code !== 'string' || !code.startsWith('E') || code.startsWith('ERR_')) return null;
  const where = `Cannot listen on ${hostPort(config)} (${code})`;
  switch (code) {
    case 'EADDRINUSE':
      return new ListenError(
        `${where}: another process (another Lattice?) already uses this port; stop it, or set PORT to a free port`,
      );
    case 'EADDRNOTAVAIL':
      return new ListenError(
        `${where}: ${config.BIND_ADDRESS} is not an address of this machine; set BIND_ADDRESS (127.0.0.1 for this machine only, 0.0.0.0 for every interface)`,
      );
    case 'EACCES':
      return new ListenError(
        `${where}: not permitted (ports below 1024 need privileges); set PORT to 1024 or above`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ListenError(
        `${where}: ${config.BIND_ADDRESS} does not resolve to an address; set BIND_ADDRESS to an IP address of this machine (127.0.0.1, or 0.0.0.0 for every interface)`,
      );
    default:
      return new ListenError(
        `${where}: set PORT and BIND_ADDRESS to a port and address this machine can listen on`,
      );
  }
}

export function hostPort(config: AppConfig): string {
  const host = config.BIND_ADDRESS.includes(':') ? `[${config.BIND_ADDRESS}]` : config.BIND_ADDRESS;
  return `${host}:${config.PORT}`;
}

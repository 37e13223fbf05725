import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from './config/app-config.js';
import { createHttpApp, createWorkerApp } from './create-app.js';
import { ListenError, checkListenAddress, hostPort, listenError } from './listen-address.js';
import { PreflightError, preflight } from './preflight.js';

async function main(): Promise<void> {
  const config = loadConfig();
  await preflight(config);
  const logger = new Logger('Lattice');
  if (config.runsHttp) {
    // Before the application boots, so a taken port stops the process before it migrates, runs its
    // start-up hooks or logs anything; the listen below still handles losing a race for the port.
    await checkListenAddress(config);
    const app = await createHttpApp(config);
    app.enableShutdownHooks();
    try {
      await app.listen(config.PORT, config.BIND_ADDRESS);
    } catch (err) {
      throw listenError(err, config) ?? err;
    }
    logger.log(
      `Lattice (${config.SERVER_NAME}, role ${config.ROLE}) listening on http://${hostPort(config)}` +
        (config.runsWorkers ? ' with job workers' : ''),
    );
  } else {
    const app = await createWorkerApp(config);
    app.enableShutdownHooks();
    logger.log(`Lattice (${config.SERVER_NAME}) worker running`);
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PreflightError || err instanceof ListenError) {
    console.error(err.message);
  } else {
    console.error(err);
  }
  process.exit(1);
});

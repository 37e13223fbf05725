import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from './config/app-config.js';
import { createHttpApp, createWorkerApp } from './create-app.js';
import { PreflightError, preflight } from './preflight.js';

async function main(): Promise<void> {
  const config = loadConfig();
  await preflight(config);
  const logger = new Logger('Lattice');
  if (config.runsHttp) {
    const app = await createHttpApp(config);
    app.enableShutdownHooks();
    await app.listen(config.PORT, config.BIND_ADDRESS);
    logger.log(
      `Lattice (${config.SERVER_NAME}, role ${config.ROLE}) listening on http://${config.BIND_ADDRESS}:${config.PORT}` +
        (config.runsWorkers ? ' with job workers' : ''),
    );
  } else {
    const app = await createWorkerApp(config);
    app.enableShutdownHooks();
    logger.log(`Lattice (${config.SERVER_NAME}) worker running`);
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PreflightError) {
    console.error(err.message);
  } else {
    console.error(err);
  }
  process.exit(1);
});

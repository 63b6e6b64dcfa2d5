import { createLoggers } from '../audit/loggers.js';
import { parseListenAddress } from '../config/gateway-settings.js';
import { formatIssue, sortIssues } from '../config/issues.js';
import { loadConfiguration } from '../config/load-configuration.js';
import { startGateway } from '../gateway/start.js';
import type { RunningGateway } from '../gateway/start.js';
import { parseOptions } from './args.js';
import { EXIT_FAILURE, EXIT_OK } from './io.js';
import type { CliIo } from './io.js';

export const SERVE_USAGE =
  'ztna-gateway serve [--config config/gateway.yaml] [--routes routes.yaml] [--listen HOST:PORT] [--demo]';

/**
 * Runs until SIGTERM/SIGINT, then drains in-flight requests and exits (SPEC §12). SIGHUP
 * re-reads routes.yaml (and must never take its default action, which is to exit).
 */
function runUntilSignal(gateway: RunningGateway): Promise<number> {
  return new Promise((resolve) => {
    const hangup = () => void gateway.reload('signal');
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', hangup);
      void gateway.close().then(() => resolve(EXIT_OK));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', hangup);
  });
}

/** `ztna-gateway serve`: the default command. */
export async function runServe(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(
    argv,
    {
      config: { type: 'string' },
      routes: { type: 'string' },
      listen: { type: 'string' },
      demo: { type: 'boolean' },
    },
    io.env,
  );
  if (values.demo === true) {
    // Loaded only here, so a production gateway never imports the embedded IdP.
    const demoModule = await import('../demo/run-demo.js').catch((error: unknown) => {
      if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
      io.stderr(
        'serve --demo needs the optional dependencies oidc-provider and ws, which this install left out (npm ci --omit=optional). Run `npm ci && npm start` from a clone instead.',
      );
      return undefined;
    });
    if (demoModule === undefined) return EXIT_FAILURE;
    const { runDemo } = demoModule;
    const demo = await runDemo({ listen: values.listen as string | undefined, print: io.stdout });
    return runUntilSignal(demo);
  }
  const configuration = await loadConfiguration(
    (values.config as string | undefined) ?? 'config/gateway.yaml',
    values.routes as string | undefined,
    io.env,
  );
  if (!configuration.ok) {
    for (const issue of sortIssues(configuration.issues)) io.stderr(formatIssue(issue));
    io.stderr('refusing to start: fix the configuration above (ztna-gateway check shows the same)');
    return EXIT_FAILURE;
  }
  const loggers = createLoggers(configuration.settings.logLevel);
  for (const warning of configuration.warnings)
    loggers.log.warn({ config: formatIssue(warning) }, 'config warning');
  const settings =
    values.listen === undefined
      ? configuration.settings
      : { ...configuration.settings, listen: parseListenAddress(values.listen as string) };
  const gateway = await startGateway({
    settings,
    table: configuration.table,
    loggers,
    routesFile: (values.routes as string | undefined) ?? settings.routesFile,
  });
  return runUntilSignal(gateway);
}

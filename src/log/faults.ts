// Faults no request owns. An unhandled rejection is a bug, but one request's bug must
// not stop the service for every tenant (issue 12): it is logged and counted
// (seatkeeper_unhandled_rejections_total on /metrics), and the process carries on.
import client from 'prom-client';
import type { Logger } from './logger.js';

/** Registered in each app's registry (src/http/metrics.ts). */
export const unhandledRejections = new client.Counter({
  name: 'seatkeeper_unhandled_rejections_total',
  help: 'Promise rejections that nothing handled (each one is a bug; the process carries on)',
  registers: [],
});

export function keepRunningOnUnhandledRejections(logger: Logger): () => void {
  const onRejection = (reason: unknown) => {
    unhandledRejections.inc();
    logger.error('unhandled promise rejection (a bug; the service carries on)', {
      error: reason instanceof Error ? { message: reason.message, stack: reason.stack } : reason,
    });
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}

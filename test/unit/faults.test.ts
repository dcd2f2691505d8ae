// Issue 12: no request can end the process. An unhandled rejection (a bug) is logged and
// counted, and the process carries on.
import { Writable } from 'node:stream';
import winston from 'winston';
import { keepRunningOnUnhandledRejections, unhandledRejections } from '../../src/log/faults.js';

test('an unhandled rejection is logged at error and counted, not fatal', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, next) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      next();
    },
  });
  const logger = winston.createLogger({
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  const before = (await unhandledRejections.get()).values[0]?.value ?? 0;
  const stop = keepRunningOnUnhandledRejections(logger);
  try {
    process.emit('unhandledRejection', new Error('a bug somewhere'), Promise.resolve());
  } finally {
    stop();
  }
  expect((await unhandledRejections.get()).values[0]?.value).toBe(before + 1);
  await new Promise((r) => setImmediate(r));
  expect(lines).toEqual([
    expect.objectContaining({
      level: 'error',
      error: expect.objectContaining({ message: 'a bug somewhere' }),
    }),
  ]);
});

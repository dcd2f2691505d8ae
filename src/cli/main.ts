// `seatkeeper`: the operator's command line. Each command works the same on both
// databases, whether or not the service is running.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.js';
import { AppError } from '../shared/errors.js';
import { auditCommands } from './commands/audit.js';
import { licensingCommands } from './commands/licensing.js';
import { jobCommands } from './commands/jobs.js';
import { keysCommands } from './commands/keys.js';
import { migrateCommands } from './commands/migrate.js';
import { oauthCommands } from './commands/oauth.js';
import { ssoCommands } from './commands/sso.js';
import { tenantCommands, tokenCommands } from './commands/tenant.js';

export function buildProgram(): Command {
  const program = new Command('seatkeeper')
    .description(
      'Seatkeeper operator commands (configuration from the environment, as for `npm start`)',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  migrateCommands(program);
  tenantCommands(program);
  tokenCommands(program);
  auditCommands(program);
  licensingCommands(program);
  jobCommands(program);
  ssoCommands(program);
  oauthCommands(program);
  keysCommands(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 78;
    }
    if (err instanceof AppError && err.expose) {
      console.error(`seatkeeper: ${err.message}`);
      return 1;
    }
    const e = err as { message?: string; code?: string };
    console.error(`seatkeeper: ${e.message ?? String(err)}`);
    return 1;
  }
}

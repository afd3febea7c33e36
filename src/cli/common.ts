/** Pieces shared by the CLI commands: option parsing, error reporting, exit codes. */
import { InvalidArgumentError, type Command } from 'commander';
import { initBackend, type BackendInfo } from '../backend.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_INTERRUPTED = 130;

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

export function nonNegativeNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
    return n;
  };
}

export interface GlobalOptions {
  backend?: string;
  verbose?: boolean;
}

/** The options given to the top-level program (--backend, --verbose). */
export function globalOptions(cmd: Command): GlobalOptions {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root.opts<GlobalOptions>();
}

/** Start the backend; with --verbose, say which one runs and why others were passed over. */
export async function startBackend(cmd: Command): Promise<BackendInfo> {
  const g = globalOptions(cmd);
  const info = await initBackend(g.backend);
  if (g.verbose) {
    process.stderr.write(`koe: backend ${info.name}${info.fallbacks.length ? ` (passed over: ${info.fallbacks.join('; ')})` : ''}\n`);
  }
  return info;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function fail(message: string): never {
  process.stderr.write(`koe: ${message}\n`);
  process.exit(EXIT_FAILURE);
}

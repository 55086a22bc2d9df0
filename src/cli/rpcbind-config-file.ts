// The configuration file: one "key = value" per line, '#' starts a comment, every key is a long
// option of the daemon (so any option added to DAEMON_OPTION_SPEC works here too), a repeated
// key gives several values to an option that takes several, booleans are true or false.

import { readFileSync } from 'node:fs';
import {
  COMMAND_LINE_ONLY,
  DAEMON_OPTION_SPEC,
  DEFAULT_CONFIG_FILE,
  mergeValues,
  toDaemonOptions,
  type OptionSpec,
  type RawValues,
} from './rpcbind-options.js';
import type { DaemonOptions } from '../daemon/daemon-options.js';

export class ConfigError extends Error {}

const SPEC: Readonly<Record<string, OptionSpec>> = DAEMON_OPTION_SPEC;
const LINE = /^([A-Za-z0-9][A-Za-z0-9-]*)\s*=\s*(.*)$/;

/** Parses the file's text; throws ConfigError listing every bad line as "FILE:LINE: why". */
export function parseConfigText(text: string, source: string): RawValues {
  const values: RawValues = {};
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const where = `${source}:${i + 1}`;
    const line = stripComment(raw).trim();
    if (line === '') return;
    const m = LINE.exec(line);
    if (!m) {
      errors.push(`${where}: expected "key = value"`);
      return;
    }
    const key = m[1]!;
    const value = unquote(m[2]!.trim());
    const spec = SPEC[key];
    if (!spec || COMMAND_LINE_ONLY.has(key)) {
      errors.push(`${where}: unknown key "${key}"`);
      return;
    }
    if (spec.type === 'boolean') {
      if (value !== 'true' && value !== 'false') errors.push(`${where}: ${key} takes true or false, not "${value}"`);
      else if (values[key] !== undefined) errors.push(`${where}: ${key} is set twice`);
      else values[key] = value === 'true';
      return;
    }
    if (value === '') {
      errors.push(`${where}: ${key} needs a value`);
      return;
    }
    const prev = values[key];
    if (spec.multiple) values[key] = [...(Array.isArray(prev) ? prev : []), value];
    else if (prev !== undefined) errors.push(`${where}: ${key} is set twice (it takes one value)`);
    else values[key] = value;
  });
  if (errors.length > 0) throw new ConfigError(errors.join('\n'));
  return values;
}

/** '#' at the start or after whitespace begins a comment (so "a#b" stays a value). */
function stripComment(line: string): string {
  const m = /(^|\s)#/.exec(line);
  return m ? line.slice(0, m.index) : line;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

export interface ResolvedConfig {
  cli: RawValues;
  /** The file read, or undefined when there is none. */
  path: string | undefined;
  options: DaemonOptions;
}

/**
 * Reads the configuration the command line names (or the default file, if present) and
 * combines it with the command line. Throws UsageError or ConfigError with the reason.
 */
export async function resolveConfig(cli: RawValues): Promise<ResolvedConfig> {
  const named = typeof cli.config === 'string' ? cli.config : undefined;
  const path = named ?? DEFAULT_CONFIG_FILE;
  let text: string | undefined;
  try {
    // A small file, read at once: an asynchronous read is five thread-pool round trips on the
    // way to the first answer at start-up.
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (named !== undefined || (e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read ${path}: ${(e as Error).message}`);
    }
  }
  const file = text === undefined ? {} : parseConfigText(text, path);
  const options = toDaemonOptions(mergeValues(file, cli));
  options.configFile = text === undefined ? undefined : path;
  return { cli, path: options.configFile, options };
}

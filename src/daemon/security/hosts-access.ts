// /etc/hosts.allow and /etc/hosts.deny as libwrap reads them, for daemon "rpcbind" and for
// addresses only: "daemons : clients [: options]" lines, backslash continuations, # comments,
// ALL, EXCEPT, IPv4 "a.b.c." prefixes, n.n.n.n/m.m.m.m, [v6]/len, and the "allow" / "deny"
// options of the one-file style. Host names, @netgroups, LOCAL, KNOWN, PARANOID and /file
// patterns need name lookups and never match here (reported as warnings).

import { readFileSync } from 'node:fs';
import { AddressSet } from '../../net/index.js';
import type { HostsRule } from '../../rpcbind/index.js';

const DAEMON_NAME = 'rpcbind';

export interface ParsedHostsFile {
  rules: HostsRule[];
  warnings: string[];
}

function logicalLines(text: string): Array<{ line: string; no: number }> {
  const out: Array<{ line: string; no: number }> = [];
  let acc = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    if (acc === '') start = i + 1;
    if (raw.endsWith('\\')) {
      acc += `${raw.slice(0, -1)} `;
      return;
    }
    acc += raw;
    const t = acc.trim();
    acc = '';
    if (t !== '' && !t.startsWith('#')) out.push({ line: t, no: start });
  });
  return out;
}

function listMatchesDaemon(list: string[]): boolean {
  // "a b EXCEPT c": matches a or b unless c matches.
  const ex = list.findIndex((w) => w.toUpperCase() === 'EXCEPT');
  const head = ex >= 0 ? list.slice(0, ex) : list;
  const tail = ex >= 0 ? list.slice(ex + 1) : [];
  const m = (w: string): boolean => w.toUpperCase() === 'ALL' || w === DAEMON_NAME || w.startsWith(`${DAEMON_NAME}@`);
  return head.some(m) && !(tail.length > 0 && listMatchesDaemon(tail));
}

function words(field: string): string[] {
  return field.split(/[\s,]+/).filter((w) => w !== '');
}

/** Parses one file; `allowByDefault` is true for hosts.allow, false for hosts.deny. */
export function parseHostsFile(text: string, allowByDefault: boolean, name: string): ParsedHostsFile {
  const rules: HostsRule[] = [];
  const warnings: string[] = [];
  for (const { line, no } of logicalLines(text)) {
    const fields = line.split(':');
    if (fields.length < 2) {
      warnings.push(`${name}:${no}: no colon; line ignored`);
      continue;
    }
    // IPv6 patterns contain colons: they are written in [brackets], so rejoin bracketed parts.
    const joined: string[] = [];
    for (const f of fields) {
      const last = joined.length - 1;
      if (last >= 0 && joined[last]!.split('[').length > joined[last]!.split(']').length) joined[last] += `:${f}`;
      else joined.push(f);
    }
    const [daemons, clients, ...options] = joined;
    if (!listMatchesDaemon(words(daemons!))) continue;
    const cw = words(clients!);
    const ex = cw.findIndex((w) => w.toUpperCase() === 'EXCEPT');
    const inc = ex >= 0 ? cw.slice(0, ex) : cw;
    const exc = ex >= 0 ? cw.slice(ex + 1).filter((w) => w.toUpperCase() !== 'EXCEPT') : [];
    const set = AddressSet.parse(inc);
    const except = AddressSet.parse(exc);
    for (const bad of [...set.invalid, ...except.invalid]) {
      warnings.push(`${name}:${no}: pattern "${bad}" needs a name lookup or is not an address; it never matches`);
    }
    const opts = options.map((o) => o.trim().toLowerCase());
    const allow = opts.includes('deny') ? false : opts.includes('allow') ? true : allowByDefault;
    rules.push({ clients: set, except, allow });
  }
  return { rules, warnings };
}

/** Reads both files (a missing file is empty, as in libwrap): allow rules, then deny rules. */
export function loadHostsAccess(allowPath: string, denyPath: string): ParsedHostsFile {
  const read = (p: string): string => {
    try {
      return readFileSync(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw e;
    }
  };
  const a = parseHostsFile(read(allowPath), true, allowPath);
  const d = parseHostsFile(read(denyPath), false, denyPath);
  return { rules: [...a.rules, ...d.rules], warnings: [...a.warnings, ...d.warnings] };
}

// A GNU-style getopt (argument permutation, "--" ends options, POSIXLY_CORRECT honoured) plus
// a few long options, reporting errors with glibc's wording.

interface ParsedOption {
  opt: string; // one letter, or a long name
  arg: string | undefined;
}

export type GetoptResult = { ok: true; options: ParsedOption[]; operands: string[] } | { ok: false; message: string };

export interface LongOption {
  name: string;
  hasArg: boolean;
}

export function getopt(
  prog: string,
  argv: string[],
  spec: string,
  longs: LongOption[] = [],
  posixlyCorrect = false,
): GetoptResult {
  const takesArg = new Map<string, boolean>();
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (c === ':') continue;
    takesArg.set(c, spec[i + 1] === ':');
  }
  const options: ParsedOption[] = [];
  const operands: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && longs.length > 0) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const lo = longs.find((l) => l.name === name);
      if (!lo) return { ok: false, message: `${prog}: unrecognized option '${a}'` };
      if (lo.hasArg) {
        let v: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
        if (v === undefined) {
          v = argv[++i];
          if (v === undefined) return { ok: false, message: `${prog}: option '--${name}' requires an argument` };
        }
        options.push({ opt: name, arg: v });
      } else {
        if (eq >= 0) return { ok: false, message: `${prog}: option '--${name}' doesn't allow an argument` };
        options.push({ opt: name, arg: undefined });
      }
      i++;
      continue;
    }
    if (a.length < 2 || a[0] !== '-') {
      if (posixlyCorrect) {
        operands.push(...argv.slice(i));
        break;
      }
      operands.push(a);
      i++;
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const has = takesArg.get(c);
      if (has === undefined) return { ok: false, message: `${prog}: invalid option -- '${c}'` };
      if (!has) {
        options.push({ opt: c, arg: undefined });
        continue;
      }
      let v: string | undefined = a.slice(j + 1);
      if (v === '') {
        v = argv[++i];
        if (v === undefined) return { ok: false, message: `${prog}: option requires an argument -- '${c}'` };
      }
      options.push({ opt: c, arg: v });
      break;
    }
    i++;
  }
  return { ok: true, options, operands };
}

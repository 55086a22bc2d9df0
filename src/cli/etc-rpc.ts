// Reader for /etc/rpc ("name number aliases... # comment"), as getrpcbyname/getrpcbynumber see it.

import { readFileSync } from 'node:fs';

export interface RpcEnt {
  name: string;
  number: number;
  aliases: string[];
}

export class RpcDatabase {
  readonly entries: RpcEnt[];

  constructor(text: string) {
    this.entries = [];
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      const [name, num, ...aliases] = line.split(/\s+/);
      if (!name || !num || !/^\d+$/.test(num)) continue;
      this.entries.push({ name, number: Number(num), aliases });
    }
  }

  static load(path = '/etc/rpc'): RpcDatabase {
    let text = '';
    try {
      text = readFileSync(path, 'latin1');
    } catch {
      // no database: numbers only
    }
    return new RpcDatabase(text);
  }

  byNumber(n: number): RpcEnt | undefined {
    return this.entries.find((e) => e.number === n);
  }

  byName(name: string): RpcEnt | undefined {
    return this.entries.find((e) => e.name === name || e.aliases.includes(name));
  }
}

// The shed filter's program, run by a small classic-BPF interpreter over synthetic packets (the
// socket-level behaviour is tested in test/adversarial/flood-shed.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BPF_MAX_INSNS,
  SKF_NET_OFF,
  buildShedProgram,
  shedAddress,
  shedProgramLength,
  type BpfInsn,
} from '../../../src/transport/kernel-shed.js';

/** Runs `prog` on a packet whose network header is `net` (data starts after it). */
function run(prog: BpfInsn[], net: Buffer): number {
  let a = 0;
  for (let pc = 0, steps = 0; pc < prog.length && steps < 10_000; pc++, steps++) {
    const { code, jt, jf, k } = prog[pc]!;
    switch (code) {
      case 0x30: // ldb abs
        a = net[k - 0x100000000 - SKF_NET_OFF]!;
        break;
      case 0x20: // ld abs (word)
        a = net.readUInt32BE((k | 0) - SKF_NET_OFF);
        break;
      case 0x74: // rsh k
        a = a >>> k;
        break;
      case 0x15: // jeq k
        pc += a === k ? jt : jf;
        break;
      case 0x05: // ja
        pc += k;
        break;
      case 0x06: // ret k
        return k;
      default:
        throw new Error(`unexpected opcode ${code.toString(16)}`);
    }
  }
  throw new Error('ran off the end');
}

function v4(src: string): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x45;
  src.split('.').forEach((x, i) => {
    b[12 + i] = Number(x);
  });
  return b;
}

function v6(src: string): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x60;
  const a = shedAddress(src)!;
  a.w.forEach((w, i) => {
    b.writeUInt32BE(w, 8 + 4 * i);
  });
  return b;
}

test('drops exactly the listed IPv4 and IPv6 sources, accepts everything else', () => {
  const prog = buildShedProgram(['198.18.0.2', '10.1.2.3', '2001:db8::2', 'fe80::1%eth0'].map((s) => shedAddress(s)!));
  for (const s of ['198.18.0.2', '10.1.2.3']) assert.equal(run(prog, v4(s)), 0, s);
  for (const s of ['198.18.0.3', '127.0.0.1', '2.18.0.198']) assert.equal(run(prog, v4(s)), 0xffffffff, s);
  for (const s of ['2001:db8::2', 'fe80::1']) assert.equal(run(prog, v6(s)), 0, s);
  for (const s of ['2001:db8::3', '2001:db8:0:0:1::2', '::1', '::ffff:198.18.0.2'])
    assert.equal(run(prog, v6(s)), 0xffffffff, s);
  const other = Buffer.alloc(40);
  other[0] = 0x50;
  assert.equal(run(prog, other), 0xffffffff);
});

test('IPv4-mapped sources are shed as IPv4 (a dual-stack socket sees an IPv4 header)', () => {
  const prog = buildShedProgram([shedAddress('::ffff:198.18.0.9')!]);
  assert.equal(run(prog, v4('198.18.0.9')), 0);
});

test('an empty set accepts all; 256 sources of either family fit the kernel limit with long jumps', () => {
  assert.equal(run(buildShedProgram([]), v4('1.2.3.4')), 0xffffffff);
  const many4 = Array.from({ length: 256 }, (_, i) => shedAddress(`10.0.${i}.1`)!);
  const many6 = Array.from({ length: 256 }, (_, i) => shedAddress(`2001:db8::${i.toString(16)}:1`)!);
  const prog = buildShedProgram([...many4, ...many6]);
  assert.ok(prog.length <= BPF_MAX_INSNS, `${prog.length} instructions`);
  assert.equal(prog.length, shedProgramLength(256, 256));
  for (const ins of prog) assert.ok(ins.jt <= 255 && ins.jf <= 255);
  assert.equal(run(prog, v4('10.0.255.1')), 0);
  assert.equal(run(prog, v4('10.0.255.2')), 0xffffffff);
  assert.equal(run(prog, v6('2001:db8::ff:1')), 0);
  assert.equal(run(prog, v6('2001:db8::100:1')), 0xffffffff);
});

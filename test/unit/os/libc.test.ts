import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadLibc } from '../../../src/os/libc.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_RCVBUF = 8;

test('the one libc table loads once and answers through Buffers and native addresses alike', () => {
  const libc = loadLibc();
  assert.ok(libc, 'koffi and libc are available here (CI runs on Linux)');
  assert.equal(loadLibc(), libc);
  const fd = libc.socket(AF_INET, SOCK_DGRAM, 0);
  assert.ok(fd >= 0);
  try {
    const sa = Buffer.alloc(16);
    sa.writeUInt16LE(AF_INET, 0);
    sa.writeUInt32BE(0x7f000001, 4);
    assert.equal(libc.bind(fd, sa, 16), 0);
    const name = Buffer.alloc(128);
    assert.equal(libc.getsockname(fd, name), 16);
    assert.equal(name.readUInt32BE(4), 0x7f000001);
    assert.ok(name.readUInt16BE(2) > 0, 'bound to a port');
    assert.equal(libc.getsockoptInt(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
    const rcvbuf = libc.getsockoptInt(fd, SOL_SOCKET, SO_RCVBUF);
    assert.ok(rcvbuf !== undefined && rcvbuf > 0);
    // A large native arena is mapped on its own, usually above 4 GiB: its address reaches libc whole.
    const mem = libc.alloc(1 << 20);
    const at = mem.view.length - 16;
    mem.view.writeUInt32LE(4, at + 8);
    assert.equal(libc.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, mem.address + at, mem.address + at + 8), 0);
    assert.equal(mem.view.readInt32LE(at), rcvbuf);
    assert.equal(mem.view.readUInt32LE(at + 8), 4);
  } finally {
    assert.equal(libc.close(fd), 0);
  }
  assert.equal(libc.getsockoptInt(fd, SOL_SOCKET, SO_TYPE), undefined, 'a closed descriptor is not a socket');
});

// The error texts Linux rpcinfo prints (libtirpc's clnt_sperrno / clnt_sperror /
// clnt_spcreateerror and glibc's strerror), rebuilt from RpcClientError values.

import { ClntStat, type RpcClientError } from '../client/index.js';

const RPC_ERRLIST = [
  'RPC: Success',
  "RPC: Can't encode arguments",
  "RPC: Can't decode result",
  'RPC: Unable to send',
  'RPC: Unable to receive',
  'RPC: Timed out',
  'RPC: Incompatible versions of RPC',
  'RPC: Authentication error',
  'RPC: Program unavailable',
  'RPC: Program/version mismatch',
  'RPC: Procedure unavailable',
  "RPC: Server can't decode arguments",
  'RPC: Remote system error',
  'RPC: Unknown host',
  'RPC: Port mapper failure',
  'RPC: Program not registered',
  'RPC: Failed (unspecified error)',
  'RPC: Unknown protocol',
];

const AUTH_ERRLIST = [
  'Authentication OK',
  'Invalid client credential',
  'Server rejected credential',
  'Invalid client verifier',
  'Server rejected verifier',
  'Client credential too weak',
  'Invalid server verifier',
  'Failed (unspecified error)',
];

const STRERROR: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ENOENT: 'No such file or directory',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ECONNRESET: 'Connection reset by peer',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EPIPE: 'Broken pipe',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EINVAL: 'Invalid argument',
  EMSGSIZE: 'Message too long',
};

function strerror(code: string | undefined): string {
  if (code === undefined) return 'Success';
  return STRERROR[code] ?? code;
}

/** Pseudo stat for a host name that does not resolve (libtirpc's RPC_N2AXLATEFAILURE). */
export const N2AXLATEFAILURE = 22;

export function sperrno(stat: number): string {
  return RPC_ERRLIST[stat] ?? 'RPC: (unknown error code)';
}

/** clnt_sperror: "<s>: <errno text>[; detail]" for an error met during a call. */
export function sperror(s: string, e: RpcClientError): string {
  let out = `${s}: ${sperrno(e.stat)}`;
  switch (e.stat) {
    case ClntStat.RPC_CANTSEND:
    case ClntStat.RPC_CANTRECV:
      out += `; errno = ${strerror(e.errno)}`;
      break;
    case ClntStat.RPC_VERSMISMATCH:
    case ClntStat.RPC_PROGVERSMISMATCH:
      out += `; low version = ${e.low ?? 0}, high version = ${e.high ?? 0}`;
      break;
    case ClntStat.RPC_AUTHERROR: {
      const why = e.authWhy ?? 0;
      out += `; why = ${AUTH_ERRLIST[why] ?? `(unknown authentication error - ${why})`}`;
      break;
    }
    default:
      break;
  }
  return out;
}

/** clnt_spcreateerror: "<s>: <errno text>[ - detail]" for an error met while creating a handle. */
export function spcreateerror(s: string, stat: number, e?: RpcClientError): string {
  let out = `${s}: ${sperrno(stat)}`;
  if (stat === ClntStat.RPC_SYSTEMERROR) out += ` - ${strerror(e?.errno)}`;
  else if (stat === ClntStat.RPC_PMAPFAILURE || stat === ClntStat.RPC_PROGNOTREGISTERED) {
    // nothing more: libtirpc only details PMAPFAILURE with an inner status we never produce
  }
  return out;
}

// Public API of rpcbind-ts's client library.
export { ClntStat, RpcClientError, isRpcClientError } from './rpc-client-error.js';
export type { ClntStatName, RpcClientErrorInit } from './rpc-client-error.js';
export type { Netid, RpcTransport } from './rpc-transport.js';
export { UdpTransport } from './rpc-transport-udp.js';
export type { UdpTransportOptions } from './rpc-transport-udp.js';
export { StreamTransport } from './rpc-transport-stream.js';
export type { StreamTarget, StreamTransportOptions } from './rpc-transport-stream.js';
export { connectTransport, connectLocal, resolveHost, RPCBIND_SOCKET_PATH, RPCBIND_ABSTRACT_NAME } from './connect.js';
export type { ConnectOptions } from './connect.js';
export { RpcClient, voidArgs, voidResult } from './rpc-client.js';
export type { ArgEncoder, ResultDecoder, RpcClientOptions } from './rpc-client.js';
export { RpcbindClient } from './rpcbind-client.js';
export type { RpcbindConnectOptions } from './rpcbind-client.js';
export { locateService, connectService, discoverVersions, ping, MAX_VERS } from './ping.js';
export type { LocateOptions, PingResult, VersionRange } from './ping.js';
export { broadcast, broadcastAddresses } from './broadcast.js';
export type { BroadcastReply } from './broadcast.js';
export { registerService } from './service-registration.js';
export type { Registration, RegistrationOptions, ServiceEndpoint } from './service-registration.js';
export type {
  PmapMapping,
  Rpcb,
  RpcbEntry,
  RmtCallArgs,
  RmtCallRes,
  Netbuf,
  RpcbStat,
  RpcbStatByVers,
} from '../proto/index.js';
export type { PmapCallResult } from '../proto/index.js';
// What the public types above mention: the codec for custom argument encoders and result
// decoders, and credentials (AUTH_SYS: encodeAuthSys gives the body of flavor 1).
export { XdrReader, XdrWriter, XdrError } from '../xdr/index.js';
export type { XdrErrorCode } from '../xdr/index.js';
export { AUTH_NONE_EMPTY, encodeAuthSys } from '../rpc/index.js';
export type { OpaqueAuth, AuthSysParms } from '../rpc/index.js';

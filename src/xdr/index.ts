// XDR layer: bounded reader, capped writer, and the codec's error type.
export { XdrError, type XdrErrorCode } from './xdr-error.js';
export { XdrReader } from './xdr-reader.js';
export { XdrWriter } from './xdr-writer.js';

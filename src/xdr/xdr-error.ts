// The codec's one error type: every decode failure is an XdrError with a stable code.

export type XdrErrorCode =
  | 'XDR_SHORT' // fewer bytes remain than the item needs
  | 'XDR_TOO_LONG' // a declared length exceeds its cap
  | 'XDR_BAD_BOOL' // a bool word that is neither 0 nor 1
  | 'XDR_TOO_MANY' // a list longer than its cap
  | 'XDR_OVERFLOW'; // an encoder asked to grow past its cap

export class XdrError extends Error {
  readonly code: XdrErrorCode;
  constructor(code: XdrErrorCode, message: string) {
    super(message);
    this.name = 'XdrError';
    this.code = code;
  }
}

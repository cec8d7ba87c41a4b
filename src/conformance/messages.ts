/** Exchange messages the suite builds by hand from docs/protocol.md, to send them wrong on purpose. */
import { ed25519Sign } from '../protocol/crypto.js';
import { fromB64u, lengthPrefixed, toB64u } from '../protocol/encoding.js';
import { CONFIRMATION_CONTEXT } from '../protocol/exchange.js';
import type { ExchangeConfirmation } from '../protocol/wire.js';

/** A confirmation with its statement (docs/protocol.md §7.7) signed by `secretKey`. */
export function signConfirmation(
  fields: Omit<ExchangeConfirmation, 'signature'>,
  secretKey: Uint8Array,
): ExchangeConfirmation {
  const statement = lengthPrefixed(
    CONFIRMATION_CONTEXT,
    fromB64u(fields.exchangeId),
    fields.from,
    fields.to,
    fromB64u(fields.mac),
  );
  return { ...fields, signature: toB64u(ed25519Sign(statement, secretKey)) };
}

import { Injectable } from '@nestjs/common';
import { blake3 } from '../protocol/crypto.js';
import { toHex, utf8 } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import { BLAKE3_MAX_INPUT_BYTES } from './hash.schemas.js';

@Injectable()
export class HashService {
  blake3Hex(text: string): string {
    const bytes = utf8(text);
    if (bytes.length > BLAKE3_MAX_INPUT_BYTES) {
      throw new KeyPearsError('payload_too_large', `data must be at most ${BLAKE3_MAX_INPUT_BYTES} bytes of UTF-8`);
    }
    return toHex(blake3(bytes));
  }
}

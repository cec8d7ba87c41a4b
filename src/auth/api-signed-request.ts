import { applyDecorators } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { ApiErrors } from '../common/zod.js';

/** Documents the RFC 9421 headers a signed client request carries (docs/key-directory.md). */
export const ApiSignedRequest = () =>
  applyDecorators(
    ApiHeader({
      name: 'Signature-Input',
      required: true,
      description:
        'kp=("@method" "@target-uri" "content-digest");created=…;expires=…;nonce="…";keyid="<address>";alg="ed25519"',
    }),
    ApiHeader({ name: 'Signature', required: true, description: 'kp=:<base64 Ed25519 signature>:' }),
    ApiHeader({ name: 'Content-Digest', required: true, description: 'sha-256=:<base64 SHA-256 of the body>:' }),
    ApiErrors(401),
  );

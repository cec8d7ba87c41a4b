import type { PipeTransform } from '@nestjs/common';

/**
 * Validates a body, route parameter or query with a parser that throws KeyPearsError (for
 * instance `parseAddress`), for inputs a zod schema alone does not describe (ZodPipe does the
 * rest): the handler then receives the parsed value.
 */
export class ParsePipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly parse: (value: unknown) => T) {}
  transform(value: unknown): T {
    return this.parse(value);
  }
}

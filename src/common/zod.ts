/**
 * Request validation and OpenAPI documentation from one zod schema: the wire schemas of
 * src/protocol are the single source of truth for both.
 */
import { applyDecorators, type ArgumentMetadata, PipeTransform } from '@nestjs/common';
import { ApiBody, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import { describeZodError, parseWire } from '../protocol/wire.js';

/** `where` names what was parsed (`body`, `query`) for issues about the whole value. */
export const formatZodError = (error: z.ZodError, where = 'body'): string => describeZodError(error, where);

/** Parses a value or throws `invalid_request` (400) naming the offending fields. */
export const parseWith = <T extends z.ZodType>(schema: T, value: unknown, where = 'body'): z.output<T> =>
  parseWire(schema, value, 'invalid_request', where);

/** Validates a body, query or route parameter (named so in the error) with `schema`. */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  constructor(private readonly schema: T) {}
  transform(value: unknown, metadata?: ArgumentMetadata): z.output<T> {
    return parseWith(
      this.schema,
      value,
      metadata?.type === 'query' || metadata?.type === 'param' ? metadata.type : 'body',
    );
  }
}

// OpenAPI 3.0 JSON Schema for swagger; `io: 'input'` documents what clients send.
const openApi = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<string, unknown>;

export const ApiZodBody = (schema: z.ZodType) => ApiBody({ schema: openApi(schema, 'input') });

export const ApiZodResponse = (status: number, schema: z.ZodType, description?: string) =>
  ApiResponse({ status, description, schema: openApi(schema, 'output') });

/** Documents the docs/errors.md error shape for the given statuses. */
export const ApiErrors = (...statuses: number[]) =>
  applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: 'error',
        schema: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
      }),
    ),
  );

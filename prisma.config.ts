// Used by the Prisma CLI only (generate, and migrate status/deploy where its engine exists).
// Reads DATABASE_URL with a fallback so `prisma generate` works without a database.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/keypears' },
});

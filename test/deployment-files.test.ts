/**
 * No container engine runs in CI, so the compose file and Dockerfile are checked by reading
 * them: the wiring the README promises must be what the files say.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: string[];
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync('Dockerfile', 'utf8');

describe('docker-compose.yml', () => {
  const { db, node } = compose.services;

  it('runs PostgreSQL 16 on a named volume with a healthcheck', () => {
    expect(db.image).toBe('postgres:16');
    const volume = db.volumes?.[0]?.split(':')[0];
    expect(volume).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(volume);
    expect(db.healthcheck?.test.join(' ')).toMatch(/pg_isready/);
  });

  it('builds the node from this repository and waits for a healthy database', () => {
    expect(node.build).toBe('.');
    expect(node.depends_on?.db?.condition).toBe('service_healthy');
    expect(node.healthcheck?.test.join(' ')).toMatch(/\/api\/health/);
  });

  it('points the node at the db service with the credentials the db service creates', () => {
    const env = db.environment!;
    const url = new URL(node.environment!.DATABASE_URL);
    expect(url.hostname).toBe('db');
    expect(decodeURIComponent(url.username)).toBe(env.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(env.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${env.POSTGRES_DB}`);
  });

  it('listens on all interfaces inside the container on the published port', () => {
    expect(node.environment!.HOST).toBe('0.0.0.0');
    expect(node.ports).toContain(`${node.environment!.PORT}:${node.environment!.PORT}`);
  });
});

describe('Dockerfile', () => {
  it('starts the built node as an unprivileged user with a healthcheck', () => {
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    // The same V8 settings as \`npm start\` (docs/performance.md).
    expect(dockerfile).toMatch(
      /^CMD \["node", "--max-semi-space-size=4", "--no-wasm-tier-up", "--no-wasm-dynamic-tiering", "dist\/main.js"\]$/m,
    );
    expect(JSON.parse(readFileSync('package.json', 'utf8')).scripts.start).toBe(
      'node --max-semi-space-size=4 --no-wasm-tier-up --no-wasm-dynamic-tiering dist/main.js',
    );
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    // Migrations are applied by the node at start-up, so they must be in the image.
    expect(dockerfile).toMatch(/COPY --from=build \/app\/prisma \.\/prisma/);
  });
});

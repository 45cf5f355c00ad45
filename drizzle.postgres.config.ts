import { defineConfig } from 'drizzle-kit';

// PostgreSQL's schema and migrations, apart from SQLite's (drizzle.config.ts); the program applies them at start.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/postgres/schema.ts',
  out: './drizzle/postgres',
});

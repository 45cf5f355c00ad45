import { defineConfig } from 'drizzle-kit';

// One folder of generated migrations per dialect; the program applies them at start.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/store/sqlite/schema.ts',
  out: './drizzle/sqlite',
});

import * as z from 'zod/mini';
import { en } from 'zod/v4/locales';

/**
 * zod/mini loads no locale: without one every issue reads "Invalid input". The Lambdas' schemas (zod/mini, for the
 * bundle size) call this at import so a 400 or a bad environment says what is wrong, as zod's classic API does. Only
 * the English messages are bundled. Idempotent.
 */
export function useEnglishMessages(): void {
  z.config(en());
}

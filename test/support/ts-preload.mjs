// A TypeScript preload ($BRI_TS_PRELOAD, a fault that patches node:fs) for the built CLI: tsx's loader scoped to
// that one file (tsImport), so that the CLI's own modules load as plain JavaScript, as users run them.
import { tsImport } from 'tsx/esm/api';

await tsImport(process.env.BRI_TS_PRELOAD, import.meta.url);

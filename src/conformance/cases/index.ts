/** Every case of the suite, in the order a run takes them. */
import { addressCases } from './addresses.js';
import type { ConformanceCase } from './define.js';
import { discoveryCases } from './discovery.js';
import { errorCases } from './errors.js';
import { exchangeApiCases } from './exchange-api.js';
import { featureCases } from './features.js';
import { federationCases, rateLimitCases } from './federation.js';
import { keyDirectoryCases } from './key-directory.js';
import { signatureCases } from './signatures.js';

export const ALL_CASES: readonly ConformanceCase[] = [
  ...discoveryCases,
  ...keyDirectoryCases,
  ...addressCases,
  ...signatureCases,
  ...federationCases,
  ...exchangeApiCases,
  ...featureCases,
  ...errorCases,
  ...rateLimitCases,
];

import type { Detector, RuleInfo } from '../detector.js';
import { aiDetectors } from './ai.js';
import { chatDetectors } from './chat.js';
import { awsDetector, azureSharedAccessKeyDetector, azureStorageKeyDetector, gcpApiKeyDetector, gcpServiceAccountDetector } from './cloud.js';
import { configFileDetectors } from './config-files.js';
import { genericAssignmentDetector } from './generic-assignment.js';
import { keyMaterialDetectors } from './key-material.js';
import { keystoreRules } from './keystores.js';
import { dockerHubTokenDetector, npmTokenDetector, pypiTokenDetector, rubygemsKeyDetector, stockadeTokenDetector } from './registries.js';
import { saasDetectors } from './saas.js';
import { bitbucketAppPasswordDetector, githubDetectors, githubFineGrainedDetector, gitlabPatDetector, gitlabTokenDetector } from './source-hosting.js';
import { urlCredentialsDetector } from './url-credentials.js';

/** Every text detector of the secrets analyzer, one explicit list. */
export const detectors: readonly Detector[] = [
  awsDetector,
  gcpApiKeyDetector,
  gcpServiceAccountDetector,
  azureStorageKeyDetector,
  azureSharedAccessKeyDetector,
  ...githubDetectors,
  githubFineGrainedDetector,
  gitlabPatDetector,
  gitlabTokenDetector,
  bitbucketAppPasswordDetector,
  npmTokenDetector,
  pypiTokenDetector,
  rubygemsKeyDetector,
  dockerHubTokenDetector,
  stockadeTokenDetector,
  ...chatDetectors,
  ...saasDetectors,
  ...aiDetectors,
  ...keyMaterialDetectors,
  ...configFileDetectors,
  urlCredentialsDetector,
  genericAssignmentDetector,
];

/** Every rule the analyzer can report (ids without the `secrets/` prefix), for docs and tests. */
export const secretRules: readonly RuleInfo[] = (() => {
  const byId = new Map<string, RuleInfo>();
  for (const rule of [...detectors.flatMap((d) => d.rules), ...keystoreRules]) if (!byId.has(rule.id)) byId.set(rule.id, rule);
  return [...byId.values()];
})();

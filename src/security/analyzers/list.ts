import type { Analyzer } from '../types.js';
import { integrityAnalyzer } from './integrity/index.js';
import { vulnsAnalyzer } from './vulns/index.js';
import { installScriptsAnalyzer } from './install-scripts/index.js';
import { typosquatAnalyzer } from './typosquat/index.js';
import { secretsAnalyzer } from './secrets/index.js';
import { malwareAnalyzer } from './malware/index.js';
import { osPackagesAnalyzer } from './os-packages/index.js';

/**
 * Every analyzer the gate runs, in the order their findings are reported. Adding an analyzer is
 * one folder under analyzers/ and one line here; nothing registers itself by import.
 */
export const analyzers: readonly Analyzer[] = [integrityAnalyzer, vulnsAnalyzer, installScriptsAnalyzer, typosquatAnalyzer, secretsAnalyzer, malwareAnalyzer, osPackagesAnalyzer];

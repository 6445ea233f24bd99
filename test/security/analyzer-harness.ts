import { createHash } from 'node:crypto';
import type { AdvisoryLookup, AdvisoryMatch, AnalysisContext, Analyzer, AnalyzerFinding, ArtifactClaims, ArtifactInfo, ContentView } from '../../src/security/types.js';
import { createContentView, type ViewEntryInput } from '../../src/security/view.js';

/** Files of a package for a test: path → text or bytes. */
export type FileMap = Record<string, string | Buffer>;

export function viewOf(files: FileMap, extra: ViewEntryInput[] = []): ContentView {
  const inputs: ViewEntryInput[] = Object.entries(files).map(([path, body]) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    return { path, type: 'file', size: bytes.length, mode: 0o644, body: bytes };
  });
  return createContentView([...inputs, ...extra]);
}

export interface ContextOptions {
  artifact?: Partial<ArtifactInfo>;
  claims?: ArtifactClaims;
  advisories?: AdvisoryMatch[];
  popular?: Record<string, string[]>;
  ownerNames?: string[];
}

/** An analysis context for an npm package built from the view's package.json unless given. */
export function contextFor(view: ContentView, options: ContextOptions = {}): AnalysisContext {
  const pkgText = view.text('package.json');
  const manifest = pkgText === undefined ? {} : (JSON.parse(pkgText) as Record<string, unknown>);
  const name = typeof manifest.name === 'string' ? manifest.name : 'test-package';
  const version = typeof manifest.version === 'string' ? manifest.version : '1.0.0';
  const artifact: ArtifactInfo = {
    format: 'npm',
    ecosystem: 'npm',
    name,
    version,
    filename: `${name.replace(/^@[^/]+\//, '')}-${version}.tgz`,
    sha256: createHash('sha256').update(JSON.stringify(manifest)).digest('hex'),
    size: view.unpackedSize,
    manifest,
    ...options.artifact,
  };
  const advisories: AdvisoryLookup = {
    affecting: async () => options.advisories ?? [],
  };
  const ctx: AnalysisContext = {
    artifact,
    advisories,
    popular: { list: (ecosystem) => options.popular?.[ecosystem] ?? [] },
    ownerNames: async () => new Set(options.ownerNames ?? []),
    checkDeadline: () => {},
  };
  if (options.claims !== undefined) ctx.claims = options.claims;
  return ctx;
}

/** Runs one analyzer over files as the gate would, returning its findings. */
export async function analyzeFiles(analyzer: Analyzer, files: FileMap, options: ContextOptions = {}): Promise<AnalyzerFinding[]> {
  const view = viewOf(files);
  const ctx = contextFor(view, options);
  if (!analyzer.appliesTo(ctx.artifact)) return [];
  return analyzer.analyze(view, ctx);
}

/** The rule ids of findings, sorted, for compact assertions. */
export function rulesOf(findings: AnalyzerFinding[]): string[] {
  return [...new Set(findings.map((f) => f.rule))].sort();
}

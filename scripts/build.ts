/**
 * Builds the workflow bundle once, so that every worker of a deployment runs the same bytes:
 *
 *   npm run build                       # dist/workflow-bundle.js + dist/workflow-bundle.manifest.json
 *   npm run build -- --out <file.js>    # elsewhere
 *
 * The manifest beside the bundle records its sha256, the Temporal SDK that bundled it, when and
 * from which commit; a worker started with WORKFLOW_BUNDLE_PATH logs the sha256 it runs and warns
 * when bundle and manifest disagree. Exit status 1 when bundling fails.
 *
 * Workflow code carries no zod (its size and start-up cost land in every workflow context): the
 * build fails, naming the project's modules that bring it in.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';
import { DEFAULT_BUNDLE_PATH, manifestPathFor, sdkVersion, sha256, type BundleManifest } from '../worker/bundle';

const ROOT = path.resolve(__dirname, '..');

export interface BundledModule {
  /** webpack's module id, the path from the project root: `./domain/call.ts`, `./node_modules/zod/v4/core/core.js` */
  id: string;
  /** The module's generated code. */
  source: string;
}

/** A module's opening line in webpack's development output: `/***\/ "./domain/call.ts"` (a colon in older webpack). */
const MODULE_START = /^\/\*\*\*\/ "([^"\n]+)":?[ \t]*$/gm;

/** The modules of a bundle `bundleWorkflowCode` made (webpack, development mode, named module ids). */
export function bundledModules(code: string): BundledModule[] {
  const starts = [...code.matchAll(MODULE_START)];
  return starts.map((start, i) => ({
    id: start[1]!,
    source: code.slice(start.index + start[0].length, starts[i + 1]?.index ?? code.length),
  }));
}

const isDependency = (id: string) => id.includes('node_modules/');
/** The project's own source files, not packages nor webpack's placeholders for ignored modules (`?31ff`). */
const isProjectModule = (id: string) => !isDependency(id) && id.startsWith('./');

/** A `__webpack_require__` of a file of the package, with or without webpack's path comment. */
function requireOf(packageName: string): RegExp {
  const escaped = packageName.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`__webpack_require__\\((?:/\\*![^*]*\\*/\\s*)?"[^"]*node_modules/${escaped}/[^"]*"\\)`);
}

/** The bundled modules (project or dependency) that require a file of the package, sorted. */
export function importersOf(code: string, packageName: string): string[] {
  const modules = bundledModules(code);
  if (modules.length === 0)
    throw new Error('no webpack modules found in the bundle: is it a bundleWorkflowCode bundle?');
  const requires = requireOf(packageName);
  const importers = modules
    .filter((m) => !m.id.includes(`node_modules/${packageName}/`) && requires.test(m.source))
    .map((m) => m.id.replace(/^\.\//, ''));
  return [...new Set(importers)].sort();
}

/**
 * The project's modules that bring zod into the workflow bundle (e.g. `domain/call.ts`), sorted;
 * `[]` when none does. Type-only imports never appear: they are gone before bundling.
 */
export function bundleImports(code: string): string[] {
  return importersOf(code, 'zod').filter((id) => isProjectModule(`./${id}`));
}

/** Whether any file of the package is in the bundle at all (also when only a dependency pulls it in). */
export function bundleContains(code: string, packageName: string): boolean {
  return bundledModules(code).some((m) => m.id.includes(`node_modules/${packageName}/`));
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' }).trim() || null;
  } catch {
    return null;
  }
}

/** Written whole or not at all: a worker starting meanwhile never reads half a file. */
function writeAtomically(file: string, content: string): void {
  const partial = `${file}.${process.pid}.partial`;
  fs.writeFileSync(partial, content);
  fs.renameSync(partial, file);
}

const say = (line: string) => console.log(`[build] ${line}`);

const bundlerLogger: Logger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message, meta) => console.warn(`[build] bundler warning: ${message}${meta ? ` ${JSON.stringify(meta)}` : ''}`),
  error: (message, meta) => console.error(`[build] bundler error: ${message}${meta ? ` ${JSON.stringify(meta)}` : ''}`),
};

export interface BuildResult {
  bundlePath: string;
  manifestPath: string;
  manifest: BundleManifest;
}

/** Writes the bundle to `outPath` (relative to the working directory; default `dist/workflow-bundle.js` in the project). */
export async function buildWorkflowBundle(outPath?: string): Promise<BuildResult> {
  const bundlePath = outPath ? path.resolve(outPath) : path.join(ROOT, DEFAULT_BUNDLE_PATH);
  const began = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: bundlerLogger,
  });
  const zodImporters = bundleImports(code);
  const manifest: BundleManifest = {
    bundle: path.basename(bundlePath),
    sha256: sha256(code),
    bytes: Buffer.byteLength(code),
    sdkVersion: sdkVersion(),
    builtAt: new Date().toISOString(),
    gitCommit: gitCommit(),
    zodImporters,
  };
  // Every open workflow evaluates its own copy of what the bundle imports: no schema library.
  if (zodImporters.length > 0 || bundleContains(code, 'zod')) {
    const by = zodImporters.length ? zodImporters : importersOf(code, 'zod');
    throw new Error(`zod is in the workflow bundle, imported by ${by.join(', ')}: keep schemas out of workflow code`);
  }
  fs.mkdirSync(path.dirname(bundlePath), { recursive: true });
  writeAtomically(bundlePath, code);
  const manifestPath = manifestPathFor(bundlePath);
  writeAtomically(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  const shown = (file: string) => path.relative(process.cwd(), file) || file;
  say(`${shown(bundlePath)}: ${(manifest.bytes / 1024 / 1024).toFixed(2)} MB in ${Date.now() - began} ms`);
  say(`sha256 ${manifest.sha256} (Temporal SDK ${manifest.sdkVersion}; manifest ${shown(manifestPath)})`);
  return { bundlePath, manifestPath, manifest };
}

function outArgument(argv: string[]): string | undefined {
  const at = argv.findIndex((a) => a === '--out' || a.startsWith('--out='));
  if (at === -1) return undefined;
  const value = argv[at]!.startsWith('--out=') ? argv[at]!.slice('--out='.length) : argv[at + 1];
  if (!value) throw new Error('--out needs a file path, e.g. --out dist/workflow-bundle.js');
  return value;
}

if (require.main === module) {
  Promise.resolve()
    .then(() => buildWorkflowBundle(outArgument(process.argv.slice(2))))
    .catch((error: unknown) => {
      console.error(`[build] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    });
}

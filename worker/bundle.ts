/**
 * The prebuilt workflow bundle (`npm run build`, `scripts/build.ts`) and its manifest: what a
 * worker started with WORKFLOW_BUNDLE_PATH runs, and how it tells which bytes those are.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Where `npm run build` writes the bundle unless told otherwise. */
export const DEFAULT_BUNDLE_PATH = path.join('dist', 'workflow-bundle.js');

/** What `npm run build` writes beside the bundle. */
export interface BundleManifest {
  /** The bundle's file name, beside the manifest. */
  bundle: string;
  sha256: string;
  bytes: number;
  /** The @temporalio/worker that bundled it; the worker running it should be the same version. */
  sdkVersion: string;
  builtAt: string;
  /** The commit it was built from, when built in a git checkout. */
  gitCommit: string | null;
  /** The project's modules that bring zod into the bundle (should be none). */
  zodImporters: string[];
}

/** `dist/workflow-bundle.js` → `dist/workflow-bundle.manifest.json` */
export function manifestPathFor(bundlePath: string): string {
  const { dir, name } = path.parse(bundlePath);
  return path.join(dir, `${name}.manifest.json`);
}

export const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** The SDK version this process runs (the worker's, which is also the bundler's). */
export function sdkVersion(): string {
  return (
    JSON.parse(fs.readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as { version: string }
  ).version;
}

export interface InspectedBundle {
  path: string;
  sha256: string;
  bytes: number;
  /** null when there is no manifest beside the bundle (or it cannot be read). */
  manifest: BundleManifest | null;
  /** What an operator should know: a manifest that does not match, another SDK version. */
  warnings: string[];
}

/**
 * The bundle a worker is about to run: its hash, and its manifest when there is one. Throws a
 * clear error when the file is missing, so a misconfigured worker stops at start instead of
 * bundling something else.
 */
export function inspectWorkflowBundle(bundlePath: string): InspectedBundle {
  const absolute = path.resolve(bundlePath);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(error);
    throw new Error(
      `WORKFLOW_BUNDLE_PATH=${bundlePath} (${absolute}): ${why}. Build the bundle with \`npm run build\` ` +
        '(it writes dist/workflow-bundle.js) and ship it with the worker, or unset WORKFLOW_BUNDLE_PATH to bundle at start.',
    );
  }
  const inspected: InspectedBundle = {
    path: absolute,
    sha256: sha256(bytes),
    bytes: bytes.length,
    manifest: null,
    warnings: [],
  };
  const manifestPath = manifestPathFor(absolute);
  if (!fs.existsSync(manifestPath)) {
    inspected.warnings.push(`no manifest beside the bundle (${manifestPath})`);
    return inspected;
  }
  try {
    inspected.manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as BundleManifest;
  } catch (error) {
    inspected.warnings.push(`the manifest ${manifestPath} cannot be read: ${String(error)}`);
    return inspected;
  }
  if (inspected.manifest.sha256 !== inspected.sha256) {
    inspected.warnings.push(
      `the bundle's sha256 ${inspected.sha256} is not the manifest's ${inspected.manifest.sha256}: the files come from different builds`,
    );
  }
  const running = sdkVersion();
  if (inspected.manifest.sdkVersion !== running) {
    inspected.warnings.push(`bundled with Temporal SDK ${inspected.manifest.sdkVersion}, running ${running}`);
  }
  return inspected;
}

/**
 * The build's reading of a workflow bundle: which of the project's modules bring a package in.
 * The real bundle is the run's (built once by the global setup with the same bundler).
 */
import fs from 'node:fs';
import { bundleContains, bundledModules, bundleImports, importersOf } from '../scripts/build';

/** Two project modules and a package module, the way webpack's development output lays them out. */
const SYNTHETIC = `
/******/ var __webpack_modules__ = ({

/***/ "./domain/call.ts"
/*!*************************!*\\
  !*** ./domain/call.ts ***!
  \\*************************/
(__unused_webpack_module, __webpack_exports__, __webpack_require__) {
/* harmony import */ var zod__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(/*! zod */ "./node_modules/zod/v4/classic/schemas.js");
/***/ },

/***/ "./workflows/pilot/pilot.ts":
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {
/* harmony import */ var _domain_call__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(/*! ../../domain/call */ "./domain/call.ts");
/***/ }),

/***/ "./node_modules/zod/v4/classic/schemas.js"
(__unused_webpack_module, __webpack_exports__, __webpack_require__) {
/* harmony import */ var _core_index_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(/*! ../core/index.js */ "./node_modules/zod/v4/core/index.js");
/***/ },
`;

test('bundleImports names the project modules that require zod, not those that reach it through them', () => {
  expect(bundledModules(SYNTHETIC).map((m) => m.id)).toEqual([
    './domain/call.ts',
    './workflows/pilot/pilot.ts',
    './node_modules/zod/v4/classic/schemas.js',
  ]);
  expect(bundleImports(SYNTHETIC)).toEqual(['domain/call.ts']);
  expect(bundleContains(SYNTHETIC, 'zod')).toBe(true);
  expect(importersOf(SYNTHETIC, 'pino')).toEqual([]);
  expect(() => bundleImports('not a webpack bundle')).toThrow(/no webpack modules/);
});

test('on the real bundle: project paths only, type-only imports left out', () => {
  const code = fs.readFileSync(process.env.TEST_WORKFLOW_BUNDLE!, 'utf8');
  expect(bundledModules(code).some((m) => m.id === './workflows/pilot/pilot.ts')).toBe(true);
  const importers = bundleImports(code);
  for (const id of importers) expect(id).toMatch(/^(domain|workflows)\/[\w/-]+\.ts$/);
  // `import type { z } from 'zod'` is erased before bundling.
  expect(importers).not.toContain('domain/staff-actions.ts');
  expect(bundleContains(code, 'zod')).toBe(importers.length > 0 || importersOf(code, 'zod').length > 0);
});

// Set by scripts/build-hook.mjs (esbuild `define`) from package.json; absent when run from source (tests).
declare const __VIPSWITCH_HOOK_VERSION__: string | undefined;

/** The hook's version, as bundled. */
export const HOOK_VERSION: string = typeof __VIPSWITCH_HOOK_VERSION__ === 'string' ? __VIPSWITCH_HOOK_VERSION__ : '0.0.0-source';

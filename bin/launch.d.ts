/** Runs `entry` (a path from the project's root, such as `src/cli/main.ts`) from its current bundle. */
export function launch(entry: string): Promise<void>;

/**
 * The current bundle of `entry` (a path from `root`, by default the project's), made afresh in `cache`
 * when any of its sources changed since it was made; returns the bundle's path.
 */
export function bundled(entry: string, where?: { root?: string; cache?: string }): Promise<string>;

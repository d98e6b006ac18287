export interface Probe {
  platform: string;
  env: Record<string, string | undefined>;
  has: (command: string) => boolean;
  exists: (file: string) => boolean;
  addonBuilt: boolean;
  nodeVersion: string;
  home: string;
}
export function checkToolchain(p: Probe): { ok: boolean; missing: string[]; notes: string[]; message: string };

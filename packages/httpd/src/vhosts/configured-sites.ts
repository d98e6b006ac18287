import type { HostSettings, MountConfig } from '../config.js';
import type { SiteLookup } from '../http/resolve.js';
import { mountKey, type MountRegistry } from './mount-registry.js';
import { matchMount, sortPrefixes, type MountMatch } from './mounts.js';
import { DEFAULT_SITE, type VhostRegistry } from './registry.js';
import { Site, type SiteSettings, type UnavailableSite } from './site.js';

/**
 * The sites as the configuration file shapes them: aliases ([[host]]
 * aliases: several names, one entry), per-host settings (a view of the
 * loaded Site that carries them), and mounts. One instance per configuration:
 * a reload builds a new one and swaps it in whole, so a request sees either
 * every old setting or every new one.
 */
export class ConfiguredSites implements SiteLookup {
  private readonly canonical = new Map<string, string>();
  private readonly settings = new Map<string, SiteSettings>();
  private readonly prefixes = new Map<string, string[]>();
  /** Views of loaded sites carrying a host's settings, per underlying Site (a swap makes a new Site). */
  private readonly views = new Map<string, WeakMap<Site, Site>>();

  constructor(
    readonly registry: VhostRegistry,
    readonly mountRegistry: MountRegistry | undefined,
    hosts: readonly HostSettings[],
    mounts: readonly MountConfig[],
  ) {
    for (const h of hosts) {
      for (const alias of h.aliases) this.canonical.set(alias, h.name);
      const s: SiteSettings = {};
      if (h.cacheControl !== undefined) s.cacheControl = h.cacheControl;
      if (h.autoindex !== undefined) s.autoindex = h.autoindex;
      if (Object.keys(s).length > 0) this.settings.set(h.name, s);
    }
    const byHost = new Map<string, string[]>();
    for (const m of mounts) byHost.set(m.host, [...(byHost.get(m.host) ?? []), m.prefix]);
    for (const [host, list] of byHost) this.prefixes.set(host, sortPrefixes(list));
  }

  /** The configured name a request host stands for: itself, the host an alias belongs to, or __default__ when it has no entry or settings of its own. */
  private nameOf(host: string): string {
    const name = this.canonical.get(host) ?? host;
    if (this.registry.entry(name) !== undefined || this.settings.has(name) || this.prefixes.has(name)) return name;
    return DEFAULT_SITE;
  }

  lookup(host: string): Site | UnavailableSite | undefined {
    const name = this.canonical.get(host) ?? host;
    // The registry's lookup, not entry(): an entry that exists but cannot load is a 503, never __default__ (issue 9 item 7).
    const found = this.registry.lookup(name);
    if (found === undefined || found.kind === 'unavailable') return found;
    return this.withSettings(this.nameOf(host), found);
  }

  mount(host: string, path: string): MountMatch | undefined {
    if (this.prefixes.size === 0) return undefined;
    const name = this.nameOf(host);
    const prefixes = this.prefixes.get(name);
    if (prefixes === undefined) return undefined;
    const m = matchMount(prefixes, path);
    if (m === undefined || m.kind === 'add-slash') return m;
    const key = mountKey({ host: name, prefix: m.prefix });
    const site = this.mountRegistry?.entry(key);
    // A configured mount whose webroot is not loaded is a 503, never the host's own content under that prefix.
    return { ...m, site: site ? this.withSettings(name, site) : { kind: 'unavailable', name: key, reason: 'mount not loaded' } };
  }

  private withSettings(name: string, site: Site): Site {
    const settings = this.settings.get(name);
    if (settings === undefined) return site;
    let views = this.views.get(name);
    if (views === undefined) this.views.set(name, (views = new WeakMap()));
    let view = views.get(site);
    if (view === undefined) views.set(site, (view = new Site(site.name, site.webroot, settings, site.rules)));
    return view;
  }
}

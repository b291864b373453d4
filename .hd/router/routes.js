/** A route table kept in memory, changed app by app (the syncer's deltas). */
export class MemoryRouteTable {
    byHost = new Map();
    hostsOf = new Map();
    /** An exact name first, then a wildcard one level up (`*.example.com` serves `www.example.com`, not `a.b.example.com`). */
    lookup(hostname) {
        const exact = this.byHost.get(hostname);
        if (exact)
            return exact;
        const dot = hostname.indexOf('.');
        return dot > 0 ? this.byHost.get(`*${hostname.slice(dot)}`) : undefined;
    }
    /** Sets an app's route and hostnames; undefined removes the app. */
    setApp(appId, route, hostnames = []) {
        for (const h of this.hostsOf.get(appId) ?? [])
            this.byHost.delete(h);
        this.hostsOf.delete(appId);
        if (!route)
            return;
        const hosts = hostnames.map((h) => h.toLowerCase());
        for (const h of hosts)
            this.byHost.set(h, route);
        this.hostsOf.set(appId, hosts);
    }
    replaceAll(apps) {
        this.byHost.clear();
        this.hostsOf.clear();
        for (const a of apps)
            this.setApp(a.route.appId, a.route, a.hostnames);
    }
    get size() {
        return this.hostsOf.size;
    }
}
//# sourceMappingURL=routes.js.map
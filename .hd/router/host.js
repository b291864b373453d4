/** Host header → the name the route table is keyed by: lowercase, no port, no trailing dot. */
export function normalizeHost(host) {
    if (!host || host.length > 300)
        return undefined;
    let h = host.trim().toLowerCase();
    if (h.startsWith('['))
        return undefined; // IPv6 literals never name an app
    const colon = h.lastIndexOf(':');
    if (colon >= 0)
        h = h.slice(0, colon);
    if (h.endsWith('.'))
        h = h.slice(0, -1);
    return h || undefined;
}
//# sourceMappingURL=host.js.map
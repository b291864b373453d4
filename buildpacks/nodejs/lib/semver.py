#!/usr/bin/env python3
"""Semver ranges as npm reads them (x-ranges, ~, ^, hyphen ranges, comparators, ||), for the nodejs buildpack.

resolve.py METADATA.json RANGE [--lts] [--node VERSION]
  prints the newest stable version in METADATA (an npm registry document) that satisfies RANGE.
  --lts: when RANGE is empty, the newest version of the newest LTS line (even major, first released > 6 months ago).
  --node V: only versions whose engines.node (if any) accepts node V (to pick an npm that runs on that node).
"""
import json, re, sys, time, calendar

VER = re.compile(r'^v?(\d+)\.(\d+)\.(\d+)$')

def parse(v):
    m = VER.match(v.strip())
    return tuple(int(x) for x in m.groups()) if m else None

def partial(s):
    s = s.strip().lstrip('v=')
    parts = s.split('.') if s else []
    nums = []
    for p in parts[:3]:
        if p in ('x', 'X', '*', ''):
            break
        if not p.isdigit():
            m = re.match(r'^(\d+)', p)
            if not m:
                raise ValueError('bad version ' + s)
            nums.append(int(m.group(1)))
            break
        nums.append(int(p))
    return nums

def bump(nums):
    if not nums:
        return None
    n = list(nums)
    n[-1] += 1
    return tuple(n + [0] * (3 - len(n)))

def pad(nums):
    return tuple(list(nums) + [0] * (3 - len(nums)))

def comparator(tok):
    """One comparator token -> list of (op, version) constraints (all must hold)."""
    m = re.match(r'^(>=|<=|>|<|=|~>|~|\^)?\s*(.*)$', tok)
    op, rest = m.group(1) or '', m.group(2)
    if rest in ('', '*', 'x', 'X', 'latest'):
        return []
    nums = partial(rest)
    if not nums:
        return []
    if op == '^':
        lo = pad(nums)
        if nums[0] > 0 or len(nums) == 1:
            hi = (nums[0] + 1, 0, 0)
        elif len(nums) == 2 or nums[1] > 0:
            hi = (0, nums[1] + 1, 0)
        else:
            hi = (0, 0, nums[2] + 1)
        return [('>=', lo), ('<', hi)]
    if op in ('~', '~>'):
        lo = pad(nums)
        hi = (nums[0] + 1, 0, 0) if len(nums) == 1 else (nums[0], nums[1] + 1, 0)
        return [('>=', lo), ('<', hi)]
    full = len(nums) == 3
    if op in ('', '='):
        return [('=', pad(nums))] if full else [('>=', pad(nums)), ('<', bump(nums))]
    if op == '>':
        return [('>', pad(nums))] if full else [('>=', bump(nums))]
    if op == '>=':
        return [('>=', pad(nums))]
    if op == '<':
        return [('<', pad(nums))]
    if op == '<=':
        return [('<=', pad(nums))] if full else [('<', bump(nums))]
    raise ValueError('bad comparator ' + tok)

def parse_range(r):
    alts = []
    for alt in (r or '').split('||'):
        alt = alt.strip()
        h = re.match(r'^(\S+)\s+-\s+(\S+)$', alt)
        if h:
            lo, hi = partial(h.group(1)), partial(h.group(2))
            cons = [('>=', pad(lo))] + ([('<=', pad(hi))] if len(hi) == 3 else ([('<', bump(hi))] if hi else []))
            alts.append(cons)
            continue
        alt = re.sub(r'(>=|<=|>|<|=|~>|~|\^)\s+', r'\1', alt)
        cons = []
        for tok in alt.split():
            cons += comparator(tok)
        alts.append(cons)
    return alts

def satisfies(v, alts):
    ops = {'=': lambda a, b: a == b, '>': lambda a, b: a > b, '>=': lambda a, b: a >= b, '<': lambda a, b: a < b, '<=': lambda a, b: a <= b}
    return any(all(ops[op](v, c) for op, c in cons) for cons in alts)

def iso(t):
    return calendar.timegm(time.strptime(t[:19], '%Y-%m-%dT%H:%M:%S'))

def main():
    args = sys.argv[1:]
    lts = '--lts' in args
    node = None
    if '--node' in args:
        i = args.index('--node')
        node = parse(args[i + 1])
        del args[i:i + 2]
    args = [a for a in args if a != '--lts']
    meta = json.load(open(args[0]))
    rng = args[1] if len(args) > 1 else ''
    versions = {}
    for s, info in meta.get('versions', {}).items():
        v = parse(s)
        if not v:
            continue  # prereleases and odd tags never match
        if node is not None:
            eng = (info.get('engines') or {}).get('node') if isinstance(info.get('engines'), dict) else None
            try:
                if eng and not satisfies(node, parse_range(eng)):
                    continue
            except ValueError:
                continue
        versions[v] = s
    if not rng.strip() and lts:
        times = meta.get('time', {})
        now = time.time()
        majors = sorted({v[0] for v in versions if v[0] % 2 == 0}, reverse=True)
        for major in majors:
            first = [s for v, s in versions.items() if v[0] == major]
            started = [iso(times[s]) for s in first if s in times]
            if started and now - min(started) > 183 * 86400:
                rng = str(major)
                break
    try:
        alts = parse_range(rng)
    except ValueError as e:
        print('invalid version range: %s (%s)' % (rng, e), file=sys.stderr)
        sys.exit(2)
    ok = sorted(v for v in versions if satisfies(v, alts))
    if not ok:
        print('no version matches "%s"' % rng, file=sys.stderr)
        sys.exit(1)
    print(versions[ok[-1]])

if __name__ == '__main__':
    main()

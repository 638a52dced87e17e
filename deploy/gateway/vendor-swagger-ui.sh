#!/usr/bin/env bash
# Vendors the few files of the npm package swagger-ui-dist that the gateway's /docs page needs
# into deploy/gateway/docs/swagger-ui/ (run by hand when upgrading; the files are committed, so
# neither the build nor the gateway ever reaches a registry).
# Usage: deploy/gateway/vendor-swagger-ui.sh [VERSION]
set -euo pipefail
version=${1:-5.35.0}
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/docs/swagger-ui"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null)
tar -xzf "$work"/swagger-ui-dist-"$version".tgz -C "$work"
rm -rf "$dest"
mkdir -p "$dest"
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt \
    swagger-ui-standalone-preset.js swagger-ui-standalone-preset.js.LICENSE.txt \
    swagger-ui.css favicon-32x32.png favicon-16x16.png LICENSE NOTICE; do
    cp "$work/package/$file" "$dest/$file"
done
echo "$version" > "$dest/VERSION"
echo "vendored swagger-ui-dist $version into $dest"

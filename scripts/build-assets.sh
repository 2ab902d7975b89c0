#!/usr/bin/env bash
# Install the pinned npm packages and copy their built files where shareguard serves them.
# GOV.UK Frontend's precompiled CSS references fonts and images at /assets/..., which
# the app serves from static/govuk/assets (see web/console).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error
static=src/shareguard/web/static
rm -rf "$static/govuk" "$static/moj" "$static/vendor"
mkdir -p "$static/govuk" "$static/moj" "$static/vendor"
gf=node_modules/govuk-frontend/dist/govuk
cp "$gf"/govuk-frontend.min.css "$gf"/govuk-frontend.min.js "$static/govuk/"
cp -r "$gf/assets" "$static/govuk/assets"
moj=node_modules/@ministryofjustice/frontend/moj
cp "$moj"/moj-frontend.min.css "$moj"/moj-frontend.min.js "$static/moj/"
[ -d "$moj/assets" ] && cp -r "$moj/assets" "$static/moj/assets"
cp node_modules/axe-core/axe.min.js "$static/vendor/"
cp node_modules/vega/build/vega.min.js node_modules/vega-lite/build/vega-lite.min.js \
  node_modules/vega-embed/build/vega-embed.min.js "$static/vendor/"
echo "assets built in $static"

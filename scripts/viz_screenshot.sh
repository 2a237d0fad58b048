#!/usr/bin/env bash
# Regenerate the kedro-viz lineage screenshot of the README (docs/images/kedro_viz_lineage.png).
#
#   scripts/viz_screenshot.sh                                   # __default__ pipeline, all namespaces expanded
#   PIPELINE=inference OUT=/tmp/inference.png scripts/viz_screenshot.sh
#
# `kedro viz build` writes the static site to build/ (gitignored); a copy is served on 127.0.0.1 and a headless
# Chromium takes the screenshot. Needs a Chromium binary (Debian: `apt-get install chromium`; not a project
# dependency) or CHROMIUM=/path/to/chrome. Works offline.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PIPELINE=${PIPELINE:-__default__}
OUT=${OUT:-docs/images/kedro_viz_lineage.png}
PORT=${PORT:-4142}
SIZE=${SIZE:-1600,1000}
THEME=${THEME:-light}
SIDEBAR=${SIDEBAR:-true}   # the pipeline menu, namespace tree and tag filters
PRETTY=${PRETTY:-false}    # true: "Ingest Bronze"; false: the names as in code and catalog (lms.int_bronze)
SCALE=${SCALE:-2}          # device scale factor: 2 gives sharp text (a 3200x2000 PNG for SIZE=1600,1000)
WAIT_MS=${WAIT_MS:-20000}  # virtual time given to the page to load the graph and lay it out
PYTHON=${PYTHON:-.venv/bin/python}
KEDRO=${KEDRO:-.venv/bin/kedro}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [[ -z $CHROMIUM ]]; then
  echo "No Chromium found: apt-get install chromium, or set CHROMIUM=/path/to/chrome" >&2
  exit 1
fi
export KEDRO_DISABLE_TELEMETRY=1

tmp=$(mktemp -d)
server=""
cleanup() {
  if [[ -n $server ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$KEDRO" viz build >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; exit 1; }
cp -r build "$tmp/site"

# kedro-viz keeps its UI settings in localStorage ("KedroViz"): preset them in the served copy so the screenshot
# has no feature-hint tour, no minimap, and the chosen theme, names and sidebar.
"$PYTHON" - "$tmp/site/index.html" "$THEME" "$SIDEBAR" "$PRETTY" <<'PY'
import json
import sys
from pathlib import Path

index, theme = Path(sys.argv[1]), sys.argv[2]
sidebar, pretty = (arg == "true" for arg in sys.argv[3:5])
state = {
    "showFeatureHints": False,
    "featureHintStep": 0,
    "isPrettyName": pretty,
    "theme": theme,
    "visible": {"miniMap": False, "sidebar": sidebar},
}
script = f"<script>localStorage.setItem('KedroViz', {json.dumps(json.dumps(state))});</script>"
html = index.read_text(encoding="utf-8")
index.write_text(html.replace("<head>", "<head>" + script, 1), encoding="utf-8")
PY

"$PYTHON" -m http.server "$PORT" --bind 127.0.0.1 --directory "$tmp/site" >"$tmp/http.log" 2>&1 &
server=$!
"$PYTHON" - "$PORT" <<'PY'
import sys
import time
import urllib.request

url = f"http://127.0.0.1:{sys.argv[1]}/api/main"
for _ in range(50):
    try:
        urllib.request.urlopen(url, timeout=1).close()
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit(f"the static kedro-viz site did not come up on {url}")
PY

"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$tmp/profile" \
  --window-size="$SIZE" --force-device-scale-factor="$SCALE" --virtual-time-budget="$WAIT_MS" --screenshot="$tmp/shot.png" \
  "http://127.0.0.1:$PORT/?pid=$PIPELINE&expandAllPipelines=true" >"$tmp/chromium.log" 2>&1 \
  || { cat "$tmp/chromium.log" >&2; exit 1; }

# a blank or "loading" page has a handful of colours; the drawn graph has hundreds (anti-aliased edges, text)
"$PYTHON" - "$tmp/shot.png" <<'PY'
import sys

from PIL import Image

colours = Image.open(sys.argv[1]).convert("RGB").getcolors(maxcolors=1 << 20) or []
if len(colours) < 200:
    sys.exit(f"the screenshot looks blank ({len(colours)} colours): raise WAIT_MS")
PY
mkdir -p "$(dirname "$OUT")"
mv "$tmp/shot.png" "$OUT"
echo "$OUT"

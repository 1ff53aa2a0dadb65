#!/usr/bin/env bash
# Renders the learning-curve examples to PNG with librsvg (what browsers and image viewers would
# do with the SVG): each must parse and render at the picture's size. The PNGs stay in DIR for a
# person to look at.
#
#   bash scripts/plot_check.sh build/tests/plot_examples build/plot_check
set -euo pipefail
TOOL="${1:?usage: plot_check.sh path/to/plot_examples DIR}"
DIR="${2:?usage: plot_check.sh path/to/plot_examples DIR}"
command -v rsvg-convert > /dev/null || { echo "skipped: rsvg-convert not found (install librsvg2-bin)"; exit 0; }
rm -rf "$DIR" && mkdir -p "$DIR"
"$TOOL" "$DIR"
count=0
for svg in "$DIR"/*.svg; do
  png="${svg%.svg}.png"
  rsvg-convert -o "$png" "$svg"
  # Width and height are the big-endian words at bytes 16-23 of a PNG (its IHDR chunk).
  size="$(od -An -tu1 -j16 -N8 "$png" | awk '{printf "%dx%d", $3*256+$4, $7*256+$8}')"
  [ "$size" = "760x440" ] || { echo "FAIL $png is $size, expected 760x440"; exit 1; }
  echo "ok   $png ($size)"
  count=$((count + 1))
done
[ "$count" -eq 5 ] || { echo "FAIL expected 5 pictures, rendered $count"; exit 1; }

#!/bin/sh
# Build labkit's vcsim front end (tests/vcsim) against Debian's govmomi source package, offline.
# Skips the build when the binary is newer than its source. Needs golang-go and
# golang-github-vmware-govmomi-dev (`make lab-deps`); without Go it says so and exits 0.
set -eu
cd "$(dirname "$0")/.."
out=.build/vcsim
if ! command -v go >/dev/null 2>&1; then
  echo "go is not installed: the vSphere tests will skip (run: make lab-deps)" >&2
  exit 0
fi
if [ ! -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ]; then
  echo "govmomi's simulator is not installed (golang-github-vmware-govmomi-dev): not building vcsim" >&2
  exit 0
fi
if [ -x "$out" ] && [ -z "$(find tests/vcsim -newer "$out" -name '*.go')" ]; then
  exit 0
fi
mkdir -p .build/gocache
GOCACHE="$PWD/.build/gocache" GOPATH=/usr/share/gocode GO111MODULE=off go build -o "$out" ./tests/vcsim
echo "built $out"

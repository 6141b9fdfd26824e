#!/bin/sh
# Installs the Debian packages a make target needs, when they are missing.
#
#   scripts/deps.sh build|test|fuzz
#
# Each set names the packages; dpkg-query tells which are absent. As root the
# missing ones are installed with apt-get; otherwise the command to run is
# printed and the script fails, so a build never half-works for lack of a
# library.
set -eu

build_pkgs="gcc make pkg-config protobuf-c-compiler libprotobuf-c-dev libnl-3-dev libjson-c-dev"
test_pkgs="$build_pkgs libcmocka-dev bats python3 procps"
fuzz_pkgs="$build_pkgs clang libclang-rt-14-dev"

case "${1:-build}" in
build) want=$build_pkgs ;;
test)  want=$test_pkgs ;;
fuzz)  want=$fuzz_pkgs ;;
*) echo "usage: $0 build|test|fuzz" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing Debian packages:$missing" >&2
	echo "run as root: apt-get install -y$missing" >&2
	exit 1
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists; update once, then install.
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing

#!/bin/sh
# Installs the Debian packages wangge needs to build, test and benchmark,
# only when something is missing. Usage: tools/deps.sh [build|test|bench]
set -eu
what=${1:-build}
pkgs="build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev
libsodium-dev libqrencode-dev libxlsxwriter-dev libzip-dev libexpat1-dev libfreexl-dev zlib1g-dev tzdata liboath-dev nodejs npm"
case "$what" in
test) pkgs="$pkgs libcmocka-dev postgresql sqlite3 curl jq clang libclang-rt-14-dev chromium fonts-wqy-microhei zbar-tools openssl" ;;
bench) pkgs="$pkgs libcmocka-dev postgresql sqlite3 curl clang wrk" ;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm may come from outside Debian's packages: accept working commands.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ')
fi
missing=$(echo "$missing" | tr -s ' ')
[ -z "${missing# }" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "wangge: missing Debian packages:$missing; run as root or install them" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

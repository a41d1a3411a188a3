#!/bin/sh
# install-deps.sh - install the Debian 12 packages postbeacon builds, tests
# and demos with. Idempotent; run as root. Postfix is preseeded to "No
# configuration" so the system instance stays off: tests and the demo run
# private Postfix and Redis instances of their own on loopback. chromium
# (headless) opens the HTML report in tests/cli_report_html.sh.
set -eu

PACKAGES="build-essential autoconf automake autoconf-archive libtool pkg-config
 libmilter-dev libhiredis-dev libevent-dev libssl-dev libconfig-dev
 libgmime-3.0-dev liburiparser-dev libjansson-dev libcurl4-openssl-dev libcsv-dev libgumbo-dev libhttp-parser-dev check
 postfix redis-server redis-tools miltertest python3 openssl clang
 libclang-rt-14-dev procps curl chromium"

missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $pkg"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing; run this script as root" >&2
    exit 1
fi
echo "install-deps: installing$missing"
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing

#!/usr/bin/env bash
# Install, from Debian packages, everything the build and the tests need.
# Idempotent: only missing packages are installed, apt-get update runs once
# and only when something is missing.
set -euo pipefail

PACKAGES=(
	build-essential
	g++
	libgtest-dev
	qemu-system-x86
	linux-image-amd64
	linux-headers-amd64
	busybox-static
	cpio
	kmod	
	sparse	
	python3
	libclang-dev
	clang-14
	libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

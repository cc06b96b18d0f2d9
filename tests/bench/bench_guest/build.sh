#!/usr/bin/env bash
# make bench-guest, step 1: the guest's pieces, from Debian's packages, into .build/bench-guest (never the repository):
#   vmlinuz     a Debian kernel (linux-image-amd64's kernel package, unpacked, not installed)
#   initrd.gz   busybox-static + the static benchmark program (tests/bench/bench_guest/guestbench.c, built with gcc)
# Needs apt (to download the two .deb files) and gcc; installs gcc if it is missing. Re-runs reuse what is built.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=${BENCH_GUEST_BUILD:-$root/.build/bench-guest}
mkdir -p "$out/debs" "$out/unpacked"
if [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.gz" ] && [ "$out/initrd.gz" -nt "$root/tests/bench/bench_guest/guestbench.c" ]; then
  echo "bench-guest: pieces already built in $out"
  exit 0
fi
command -v gcc >/dev/null || apt-get install -y --no-install-recommends gcc libc6-dev
kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$kernel_pkg" ] || { echo "bench-guest: apt knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
(cd "$out/debs" && { ls "$kernel_pkg"_*.deb >/dev/null 2>&1 || apt-get download "$kernel_pkg"; } \
                 && { ls busybox-static_*.deb >/dev/null 2>&1 || apt-get download busybox-static; }) 2>&1 \
  | grep -v "couldn't be accessed by user '_apt'" || true
for deb in "$out"/debs/*.deb; do dpkg-deb -x "$deb" "$out/unpacked"; done
kernels=("$out"/unpacked/boot/vmlinuz-*)
cp "${kernels[0]}" "$out/vmlinuz"
gcc -O2 -static -o "$out/guestbench" "$root/tests/bench/bench_guest/guestbench.c"
"${PYTHON:-python3}" "$root/tests/bench/bench_guest/initramfs.py" "$out/initrd.gz" \
  "$out/unpacked/bin/busybox" "$out/guestbench"
echo "bench-guest: built $out/vmlinuz ($kernel_pkg) and $out/initrd.gz"

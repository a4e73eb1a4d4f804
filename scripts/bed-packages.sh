# Sourced: the Debian packages test bed NAME needs, one per line
# (`bed_packages NAME`). bed-build.sh installs them in the chroots, setup.sh
# on this machine (bookworm), so the three beds hold the same tools.
bed_packages() {
  # What the suite runs: Nix, Calamares, the tools the tests and scripts call.
  # locales: /etc/locale.gen, which Calamares' locale page reads.
  printf '%s\n' nix-bin calamares npm python3 procps util-linux git ca-certificates locales
  # ss (sock_diag): the daemon finds who holds the other end of a connection (src/daemon/peer-credentials.ts).
  printf '%s\n' iproute2
  # Fleet installs (src/fleet/): dnsmasq's binary without Debian's system service (/usr/sbin/dnsmasq),
  # and what the fleet test asks with in a PXE ROM's place: busybox udhcpc (DHCP), curl (TFTP and HTTP).
  # systemd: the HTTP front (systemd-socket-activate, systemd-socket-proxyd) and systemd-analyze verify.
  printf '%s\n' dnsmasq-base busybox curl systemd
  # The seed's store served to targets over Nix's ssh-ng (src/fleet/sshd.ts): OpenSSH's sshd, and ssh on the targets.
  printf '%s\n' openssh-server openssh-client
  # The seed's live page opened in a real browser, headless (test/e2e/fleet-page.test.ts).
  printf '%s\n' chromium
  # A real PXE ROM booting from the seed (test/e2e/fleet-pxe.test.ts): QEMU (TCG) with SeaBIOS and iPXE's card ROMs;
  # a UEFI machine's own PXE (OVMF's) fetching iPXE's UEFI binary (Debian's ipxe: ipxe.efi) over TFTP.
  printf '%s\n' qemu-system-x86 ipxe-qemu ovmf ipxe
  # The windowed Calamares test: a virtual display (xvfb-run needs xauth), screenshots, OCR.
  printf '%s\n' xvfb xauth imagemagick tesseract-ocr tesseract-ocr-eng
  # The disk tests: partitions, FAT and ext4 file systems, LUKS2 (cryptsetup formats an image without device-mapper).
  printf '%s\n' fdisk dosfstools e2fsprogs cryptsetup-bin
  # The ISO's store as the ISO has it (a squashfs under an overlay), and a
  # medium that returns read errors (a FUSE file system of the test's own).
  printf '%s\n' squashfs-tools fuse3 python3-pyfuse3
  # QML modules that --no-install-recommends leaves out: the default branding's
  # slideshow (QtQuick, QtQuick.Window) and the packagechooserq page
  # (QtQuick.Controls, QtQuick.Layouts). Calamares 3.2 is Qt 5, 3.3 and 3.4 Qt 6.
  case "$1" in
    bookworm) printf '%s\n' qml-module-qtquick2 qml-module-qtquick-window2 qml-module-qtquick-layouts qml-module-qtquick-controls2 ;;
    *) printf '%s\n' qml6-module-qtquick qml6-module-qtquick-window qml6-module-qtquick-layouts qml6-module-qtquick-controls ;;
  esac
}

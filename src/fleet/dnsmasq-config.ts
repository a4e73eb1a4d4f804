// dnsmasq's configuration for one fleet: DHCP (or proxy DHCP beside the LAN's
// own server) and TFTP on the fleet's interface alone, no DNS, and iPXE
// chained to the seed's netboot script.
import { IPXE_BIOS, IPXE_EFI } from './boot-files.js';
import { toAddress } from '../protocol/ipv4.js';
import { bounds, dhcpRange, netmask, type Ipv4Network } from './network.js';

export interface DnsmasqPlan {
  interface: string;
  net: Ipv4Network;
  proxy: boolean;
  // The fleet's copy of the iPXE binaries (boot-files.ts): nothing else is in it.
  tftpDir: string;
  scriptUrl: string;
  // Who dnsmasq runs as once its ports are bound.
  user: string;
  group: string;
  leaseFile: string;
  pidFile: string;
}

export function dnsmasqConfig(plan: DnsmasqPlan): string {
  const mask = netmask(plan.net.prefix);
  const seed = plan.net.address;
  const range = dhcpRange(plan.net);
  const lines = [
    // Only this interface, bound to it alone (never the wildcard address), never loopback.
    `interface=${plan.interface}`,
    'bind-interfaces',
    'except-interface=lo',
    // No DNS server: the targets need none, and the seed must not answer for the LAN.
    'port=0',
    // Root keeps no system files of dnsmasq's: no /etc/hosts or resolv.conf read, leases in the fleet's state.
    'no-hosts',
    'no-resolv',
    `dhcp-leasefile=${plan.leaseFile}`,
    `pid-file=${plan.pidFile}`,
    // It binds as root, then runs as the fleet's user, keeping only CAP_NET_ADMIN and CAP_NET_RAW.
    `user=${plan.user}`,
    `group=${plan.group}`,
    plan.proxy ? `dhcp-range=${toAddress(bounds(plan.net).network)},proxy,${mask}` : `dhcp-range=${range.start},${range.end},${mask},1h`,
    'enable-tftp',
    // The root holds only the two world-readable copies, in a root-owned folder the fleet's user cannot
    // change: --tftp-secure (files owned by that user) would let it rewrite what targets boot.
    `tftp-root=${plan.tftpDir}`,
    // iPXE says who it is (user class "iPXE"); a PXE ROM gets iPXE first, by firmware (client architecture 7 and 9: x86_64 UEFI).
    'dhcp-userclass=set:ipxe,iPXE',
    'dhcp-match=set:efi64,option:client-arch,7',
    'dhcp-match=set:efi64,option:client-arch,9',
  ];
  if (plan.proxy) {
    // Proxy DHCP names the boot file through PXE services alone (dhcp-boot is not sent in proxy replies): a PXE ROM
    // gets iPXE over TFTP, and iPXE, which is a PXE client too, the script's URL (test/e2e/fleet-pxe.test.ts).
    lines.push(
      `pxe-service=tag:!ipxe,x86PC,"iPXE",${IPXE_BIOS}`,
      `pxe-service=tag:!ipxe,X86-64_EFI,"iPXE",${IPXE_EFI}`,
      `pxe-service=tag:ipxe,x86PC,"NixOS fleet",${plan.scriptUrl}`,
      `pxe-service=tag:ipxe,X86-64_EFI,"NixOS fleet",${plan.scriptUrl}`,
    );
  } else {
    lines.push(`dhcp-boot=tag:!ipxe,tag:!efi64,${IPXE_BIOS},,${seed}`, `dhcp-boot=tag:!ipxe,tag:efi64,${IPXE_EFI},,${seed}`, `dhcp-boot=tag:ipxe,${plan.scriptUrl}`);
  }
  return `${lines.join('\n')}\n`;
}

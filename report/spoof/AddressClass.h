#pragma once
// Which IP addresses are "internal" for the spoofed-internal check (DESIGN.md): the ranges
// that can never be an Internet peer's, so a Received hop from them is never counted. Also
// turns the address spellings found in Received headers into one canonical text.

#include <optional>
#include <string>
#include <string_view>

namespace bccsink::report {

enum class AddressClass {
  Invalid,      // not an IPv4 or IPv6 address
  Global,       // anything else: counted by the spoof check
  Unspecified,  // 0.0.0.0/8, ::
  Loopback,     // 127.0.0.0/8, ::1
  Private,      // RFC 1918: 10/8, 172.16/12, 192.168/16
  LinkLocal,    // 169.254/16, fe80::/10
  SharedCgnat,  // RFC 6598: 100.64/10
  UniqueLocal,  // RFC 4193 fc00::/7, and the deprecated site-local fec0::/10
  Multicast,    // 224/4, ff00::/8
  Reserved,     // 240/4, including 255.255.255.255
};

// Accepts "192.0.2.1", "[192.0.2.1]", "IPv6:2001:db8::1", "[IPv6:2001:DB8::1]",
// "fe80::1%eth0" (zone dropped) and returns the address as inet_ntop writes it, or nothing.
std::optional<std::string> normalizeAddress(std::string_view text);

// Any text normalizeAddress accepts. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
// classified by the IPv4 address inside it: that is how a dual-stack socket reports an
// IPv4 peer, so ::ffff:203.0.113.9 is as global as 203.0.113.9.
AddressClass classifyAddress(std::string_view text);

// True only for a valid address of class Global.
bool isGlobalAddress(std::string_view text);

// "global", "private", "loopback", ... for log lines and test names.
std::string_view className(AddressClass c);

}  // namespace bccsink::report

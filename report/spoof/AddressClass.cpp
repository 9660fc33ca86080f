// Classifies IP addresses as global or internal (private, loopback, link-local, CGNAT,
// unique-local, ...) for the spoofed-internal check.

#include "report/spoof/AddressClass.h"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <string>

#include "base/Text.h"

namespace bccsink::report {

namespace {

struct Parsed {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
};

std::optional<Parsed> parse(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  // RFC 5321 section 4.1.3: an IPv6 address literal is tagged "IPv6:".
  bool tagged = startsWithNoCase(text, "IPv6:");
  if (tagged) text.remove_prefix(5);
  if (auto percent = text.find('%'); percent != std::string_view::npos) {
    text = text.substr(0, percent);  // RFC 4007 zone index, as Exchange writes it
  }
  // The longest legal text is an IPv6 address with an IPv4 tail (45 characters); anything
  // longer is junk and never reaches inet_pton.
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string copy(text);
  Parsed p;
  if (!tagged && inet_pton(AF_INET, copy.c_str(), p.bytes.data()) == 1) return p;
  if (inet_pton(AF_INET6, copy.c_str(), p.bytes.data()) == 1) {
    p.v6 = true;
    return p;
  }
  return std::nullopt;
}

AddressClass classifyV4(const std::uint8_t* b) {
  if (b[0] == 0) return AddressClass::Unspecified;
  if (b[0] == 127) return AddressClass::Loopback;
  if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168)) {
    return AddressClass::Private;
  }
  if (b[0] == 169 && b[1] == 254) return AddressClass::LinkLocal;
  if (b[0] == 100 && (b[1] & 0xc0) == 64) return AddressClass::SharedCgnat;
  if ((b[0] & 0xf0) == 224) return AddressClass::Multicast;
  if ((b[0] & 0xf0) == 240) return AddressClass::Reserved;
  return AddressClass::Global;
}

AddressClass classifyV6(const std::array<std::uint8_t, 16>& b) {
  bool zeroPrefix = true;
  for (int i = 0; i < 10; ++i) zeroPrefix = zeroPrefix && b[i] == 0;
  if (zeroPrefix && b[10] == 0xff && b[11] == 0xff) return classifyV4(b.data() + 12);
  if (zeroPrefix && b[10] == 0 && b[11] == 0 && b[12] == 0 && b[13] == 0 && b[14] == 0) {
    if (b[15] == 0) return AddressClass::Unspecified;
    if (b[15] == 1) return AddressClass::Loopback;
  }
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::LinkLocal;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressClass::UniqueLocal;
  if ((b[0] & 0xfe) == 0xfc) return AddressClass::UniqueLocal;
  if (b[0] == 0xff) return AddressClass::Multicast;
  return AddressClass::Global;
}

}  // namespace

std::optional<std::string> normalizeAddress(std::string_view text) {
  auto p = parse(text);
  if (!p) return std::nullopt;
  char out[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(p->v6 ? AF_INET6 : AF_INET, p->bytes.data(), out, sizeof out)) {
    return std::nullopt;
  }
  return std::string(out);
}

AddressClass classifyAddress(std::string_view text) {
  auto p = parse(text);
  if (!p) return AddressClass::Invalid;
  return p->v6 ? classifyV6(p->bytes) : classifyV4(p->bytes.data());
}

bool isGlobalAddress(std::string_view text) {
  return classifyAddress(text) == AddressClass::Global;
}

std::string_view className(AddressClass c) {
  switch (c) {
    case AddressClass::Invalid:
      return "invalid";
    case AddressClass::Global:
      return "global";
    case AddressClass::Unspecified:
      return "unspecified";
    case AddressClass::Loopback:
      return "loopback";
    case AddressClass::Private:
      return "private";
    case AddressClass::LinkLocal:
      return "link-local";
    case AddressClass::SharedCgnat:
      return "shared (CGNAT)";
    case AddressClass::UniqueLocal:
      return "unique-local";
    case AddressClass::Multicast:
      return "multicast";
    case AddressClass::Reserved:
      return "reserved";
  }
  return "invalid";
}

}  // namespace bccsink::report

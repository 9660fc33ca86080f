#include "base/Cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <stdexcept>

namespace bccsink {

std::optional<Cidr::Addr> Cidr::parseAddress(const std::string& text) {
  Addr a;
  std::string t = text;
  if (t.size() > 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
  if (inet_pton(AF_INET, t.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, t.c_str(), a.bytes.data()) == 1) {
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(mapped, mapped + 12, a.bytes.begin())) {
      std::copy(a.bytes.begin() + 12, a.bytes.end(), a.bytes.begin());
      std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
      return a;
    }
    a.v6 = true;
    return a;
  }
  return std::nullopt;
}

Cidr Cidr::parse(const std::string& text) {
  Cidr c;
  c.text_ = text;
  auto slash = text.find('/');
  auto addr = parseAddress(text.substr(0, slash));
  if (!addr) throw std::invalid_argument("'" + text + "' is not an IPv4 or IPv6 address/prefix");
  c.net_ = *addr;
  unsigned max = c.net_.v6 ? 128 : 32;
  c.prefix_ = max;
  if (slash != std::string::npos) {
    std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(p) > max) {
      throw std::invalid_argument("'" + text + "' has a bad prefix length");
    }
    c.prefix_ = static_cast<unsigned>(std::stoul(p));
  }
  // Clear host bits so that contains() compares networks.
  for (unsigned bit = c.prefix_; bit < max; ++bit) c.net_.bytes[bit / 8] &= ~(0x80 >> (bit % 8));
  return c;
}

bool Cidr::contains(const std::string& address) const {
  auto a = parseAddress(address);
  if (!a || a->v6 != net_.v6) return false;
  for (unsigned bit = 0; bit < prefix_; ++bit) {
    std::uint8_t mask = 0x80 >> (bit % 8);
    if ((a->bytes[bit / 8] & mask) != (net_.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

}  // namespace bccsink

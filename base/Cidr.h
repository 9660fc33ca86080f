#pragma once
// An IPv4 or IPv6 network in CIDR form, for the client allow-list.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace bccsink {

class Cidr {
 public:
  // "192.0.2.0/24", "2001:db8::/32", or a single address. Throws std::invalid_argument.
  static Cidr parse(const std::string& text);
  // True when `address` (textual IPv4/IPv6; IPv4-mapped IPv6 counts as IPv4) is inside.
  bool contains(const std::string& address) const;
  std::string str() const { return text_; }

 private:
  struct Addr {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
  };
  static std::optional<Addr> parseAddress(const std::string& text);
  Addr net_;
  unsigned prefix_ = 0;
  std::string text_;
};

}  // namespace bccsink

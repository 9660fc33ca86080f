#include "sink/smtp/ConnectionLimiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace bccsink {

std::string clientKey(std::string_view address) {
  std::string text(address);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return text;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return text;
  char out[INET6_ADDRSTRLEN] = "";
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, v6.s6_addr + 12, sizeof v4);
    ::inet_ntop(AF_INET, &v4, out, sizeof out);
    return out;
  }
  std::memset(v6.s6_addr + 8, 0, 8);  // the interface identifier: one host may use any
  ::inet_ntop(AF_INET6, &v6, out, sizeof out);
  return std::string(out) + "/64";
}

ConnectionLimiter::Slot& ConnectionLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    key_ = std::move(other.key_);
    other.owner_ = nullptr;
  }
  return *this;
}

void ConnectionLimiter::Slot::release() {
  if (owner_ != nullptr) owner_->release(key_);
  owner_ = nullptr;
}

ConnectionLimiter::ConnectionLimiter(SlotLimits limits) : limits_(limits) {
  limits_.total = std::max(1u, limits_.total);
  // A reservation of every slot would refuse every outside client before its 554: the
  // configuration check forbids it; here it is bounded all the same.
  limits_.reserved = std::min(limits_.reserved, limits_.total - 1);
}

ConnectionLimiter::Admission ConnectionLimiter::admit(const std::string& key, bool allowed) {
  std::lock_guard lock(mutex_);
  Admission a;
  if (active_ >= limits_.total) {
    a.refused = Refused::Full;
    return a;
  }
  if (!allowed && active_ >= limits_.total - limits_.reserved) {
    a.refused = Refused::Reserved;
    return a;
  }
  unsigned* mine = nullptr;
  if (!key.empty() && limits_.perClient > 0) {
    mine = &perClient_[key];
    if (*mine >= limits_.perClient) {  // perClient > 0: the entry is in use, not new
      a.refused = Refused::PerClient;
      return a;
    }
  }
  ++active_;
  if (mine != nullptr) ++*mine;
  a.slot = Slot(this, mine != nullptr ? key : std::string());
  return a;
}

void ConnectionLimiter::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (active_ > 0) --active_;
  if (key.empty()) return;
  auto it = perClient_.find(key);
  if (it == perClient_.end()) return;
  if (--it->second == 0) perClient_.erase(it);
}

unsigned ConnectionLimiter::active() const {
  std::lock_guard lock(mutex_);
  return active_;
}

unsigned ConnectionLimiter::activeFor(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = perClient_.find(key);
  return it == perClient_.end() ? 0 : it->second;
}

}  // namespace bccsink

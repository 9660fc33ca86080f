#pragma once
// The bytes of files not kept (sandbox/KeptFiles), held in memory from extraction until
// every analyzer has answered: at most `limit` bytes at once across all messages of this
// process, so that a stream of messages each past its stored-content budget, with the
// analyzers slow (a sandbox takes minutes a file), cannot grow memory without bound.
// Each held copy gives its bytes back to the account when its last owner lets it go.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

class HeldBytes {
 public:
  // `limit` 0: nothing may be held.
  explicit HeldBytes(std::uint64_t limit);

  // A copy of `bytes` that counts against the limit until it is freed, or null when it
  // would go past the limit.
  std::shared_ptr<const std::string> hold(std::string_view bytes);
  std::uint64_t held() const { return account_->held.load(); }
  std::uint64_t limit() const { return limit_; }

 private:
  struct Account {
    std::atomic<std::uint64_t> held{0};
  };
  std::uint64_t limit_;
  // Shared with the copies' deleters: a copy freed after this object still finds it.
  std::shared_ptr<Account> account_ = std::make_shared<Account>();
};

}  // namespace bccsink::sandbox

#include "sandbox/HeldBytes.h"

namespace bccsink::sandbox {

HeldBytes::HeldBytes(std::uint64_t limit) : limit_(limit) {}

std::shared_ptr<const std::string> HeldBytes::hold(std::string_view bytes) {
  const std::uint64_t size = bytes.size();
  auto before = account_->held.load();
  do {
    if (size > limit_ || before > limit_ - size) return nullptr;
  } while (!account_->held.compare_exchange_weak(before, before + size));
  std::unique_ptr<std::string> copy;
  try {
    copy = std::make_unique<std::string>(bytes);
  } catch (...) {
    account_->held -= size;
    throw;
  }
  auto account = account_;
  return std::shared_ptr<const std::string>(copy.release(), [account, size](const std::string* s) {
    account->held -= size;
    delete s;
  });
}

}  // namespace bccsink::sandbox

#include "db/WriteGate.h"

#include <map>

namespace bccsink::db {

std::shared_ptr<WriteGate> WriteGate::of(const std::string& canonicalPath) {
  static std::mutex registryMutex;
  static std::map<std::string, std::weak_ptr<WriteGate>> registry;
  std::lock_guard lock(registryMutex);
  auto& slot = registry[canonicalPath];
  auto gate = slot.lock();
  if (!gate) {
    gate = std::make_shared<WriteGate>();
    slot = gate;
  }
  // Forget files whose connections are all closed (tests open many).
  for (auto it = registry.begin(); it != registry.end();) {
    it = it->second.expired() ? registry.erase(it) : std::next(it);
  }
  return gate;
}

bool WriteGate::enter(Durability who, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const bool durable = who == Durability::Durable;
  if (durable) ++durableWaiting_;
  ++waiting_;
  const bool entered =
      free_.wait_for(lock, timeout, [&] { return !held_ && (durable || durableWaiting_ == 0); });
  --waiting_;
  if (durable) --durableWaiting_;
  if (!entered) {
    // A Deferred writer may have waited only for this one: let it look again.
    if (durable) free_.notify_all();
    return false;
  }
  held_ = true;
  return true;
}

bool WriteGate::durableWaiting() {
  std::lock_guard lock(mutex_);
  return durableWaiting_ > 0;
}

int WriteGate::waitingForTest() {
  std::lock_guard lock(mutex_);
  return waiting_;
}

void WriteGate::leave() {
  {
    std::lock_guard lock(mutex_);
    held_ = false;
  }
  free_.notify_all();
}

}  // namespace bccsink::db

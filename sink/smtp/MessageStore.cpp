#include "sink/smtp/MessageStore.h"

#include <future>

namespace bccsink {

StoreResult commitAndWait(MessageWriter& writer, const Envelope& envelope,
                          const std::string& headerMessageId) {
  std::promise<StoreResult> promise;
  auto future = promise.get_future();
  writer.commit(envelope, headerMessageId,
                [&promise](StoreResult result) { promise.set_value(std::move(result)); });
  return future.get();
}

}  // namespace bccsink

#pragma once
// Catches what one Poco logger writes, for tests that check what is logged (and how
// often); puts the logger's channel and level back when destroyed.

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <mutex>
#include <string>
#include <vector>

namespace bccsink::test {

class LogCapture {
 public:
  explicit LogCapture(const std::string& logger, int level = Poco::Message::PRIO_INFORMATION)
      : logger_(Poco::Logger::get(logger)),
        oldChannel_(logger_.getChannel()),
        oldLevel_(logger_.getLevel()),
        channel_(new Sink) {
    logger_.setChannel(channel_);
    logger_.setLevel(level);
  }
  ~LogCapture() {
    logger_.setChannel(oldChannel_);
    logger_.setLevel(oldLevel_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> lines() const { return channel_->lines(); }
  // Lines containing `part`.
  int count(const std::string& part) const {
    int n = 0;
    for (const auto& l : lines()) n += l.find(part) != std::string::npos;
    return n;
  }
  std::string all() const {
    std::string out;
    for (const auto& l : lines()) out += l + "\n";
    return out;
  }

 private:
  class Sink : public Poco::Channel {
   public:
    void log(const Poco::Message& m) override {
      std::lock_guard lock(mutex_);
      lines_.push_back(m.getText());
    }
    std::vector<std::string> lines() const {
      std::lock_guard lock(mutex_);
      return lines_;
    }

   private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
  };

  Poco::Logger& logger_;
  Poco::Channel::Ptr oldChannel_;
  int oldLevel_;
  Poco::AutoPtr<Sink> channel_;
};

}  // namespace bccsink::test

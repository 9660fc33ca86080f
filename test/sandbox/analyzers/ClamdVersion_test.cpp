// ClamdAnalyzer::version(): what the re-checks compare to see a signature update. A fake
// clamd on loopback answers zVERSION with what the test sets, one connection at a time.

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "sandbox/analyzers/ClamdAnalyzer.h"

using bccsink::sandbox::ClamdAnalyzer;
using bccsink::sandbox::ClamdSettings;
using namespace std::chrono_literals;

namespace {

// Takes connections until destroyed; each gets `answer` + '\0' once it sent zVERSION\0.
class FakeClamd {
 public:
  FakeClamd() : server_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        if (!server_.poll(Poco::Timespan(0, 50'000), Poco::Net::Socket::SELECT_READ)) continue;
        auto s = server_.acceptConnection();
        std::string got;
        char c;
        s.setReceiveTimeout(Poco::Timespan(2, 0));
        while (s.receiveBytes(&c, 1) == 1 && c != '\0') got += c;
        commands_.push_back(got);
        std::string reply;
        {
          std::lock_guard lock(mu_);
          reply = answer_;
        }
        reply.push_back('\0');
        s.sendBytes(reply.data(), static_cast<int>(reply.size()));
        s.close();
      }
    });
  }
  ~FakeClamd() {
    stop_ = true;
    thread_.join();
  }
  void answer(const std::string& a) {
    std::lock_guard lock(mu_);
    answer_ = a;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_.address().port()); }
  std::vector<std::string> commands_;

 private:
  Poco::Net::ServerSocket server_;
  std::mutex mu_;
  std::string answer_ = "ClamAV 1.0.3/27100/Mon Dec  4 08:24:31 2026";
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

ClamdSettings at(const std::string& address) {
  ClamdSettings s;
  s.socket = address;
  s.timeout = 2s;
  return s;
}

}  // namespace

TEST(ClamdVersionTest, AnswersClamdsVersionAndSeesTheSignaturesChange) {
  FakeClamd fake;
  ClamdAnalyzer clamd(at(fake.address()));
  EXPECT_EQ(clamd.version(), "ClamAV 1.0.3/27100/Mon Dec  4 08:24:31 2026");
  fake.answer("ClamAV 1.0.3/27101/Tue Dec  5 08:24:31 2026");
  EXPECT_EQ(clamd.version(), "ClamAV 1.0.3/27101/Tue Dec  5 08:24:31 2026");
  EXPECT_EQ(fake.commands_.front(), "zVERSION");
}

TEST(ClamdVersionTest, SomethingElseOrNoClamdIsUnknown) {
  {
    FakeClamd fake;
    fake.answer("UNKNOWN COMMAND");
    EXPECT_EQ(ClamdAnalyzer(at(fake.address())).version(), "");
  }
  Poco::Net::ServerSocket closed(Poco::Net::SocketAddress("127.0.0.1", 0));
  auto address = "127.0.0.1:" + std::to_string(closed.address().port());
  closed.close();
  EXPECT_EQ(ClamdAnalyzer(at(address)).version(), "");
}

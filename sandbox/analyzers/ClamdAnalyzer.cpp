#include "sandbox/analyzers/ClamdAnalyzer.h"

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <utility>
#include <vector>

#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kChunk = 64 * 1024;    // bytes per INSTREAM chunk
constexpr std::size_t kMaxReply = 4096;      // a clamd reply is one short line
constexpr milliseconds kStopSlice{100};      // how often a waiting conversation looks at stop
constexpr std::size_t kMaxShownReply = 200;  // of an unexpected reply, in a reason

std::string errnoText(int code) {
  return std::strerror(code);
}

// Poco puts errno in code() for socket errors; its displayText() is then often just
// the number.
std::string describe(const Poco::Exception& e) {
  if (e.code() > 0 && e.code() < 4096) return errnoText(e.code());
  return e.displayText();
}

Verdict verdict(VerdictKind kind) {
  Verdict v;
  v.kind = kind;
  v.analyzer = "clamd";
  return v;
}

Verdict unscanned(std::string reason, bool transient) {
  auto v = verdict(VerdictKind::Unscanned);
  v.reason = std::move(reason);
  v.transient = transient;
  return v;
}

// Where clamd listens, checked once; a host name is resolved at each connection.
struct Endpoint {
  std::string text;  // as configured, for messages
  bool local = false;
  std::string path;  // local
  std::string host;  // TCP
  std::uint16_t port = 0;

  Poco::Net::SocketAddress address() const {
    if (local) return Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, path);
    return Poco::Net::SocketAddress(host, port);
  }
};

Endpoint parseEndpoint(const std::string& text) {
  Endpoint e;
  e.text = text;
  if (text.rfind("unix:", 0) == 0 || text.rfind('/', 0) == 0) {
    e.local = true;
    e.path = text.rfind("unix:", 0) == 0 ? text.substr(5) : text;
    if (e.path.empty()) throw std::invalid_argument("'" + text + "': the socket path is empty");
    if (e.path.size() >= sizeof(sockaddr_un{}.sun_path))
      throw std::invalid_argument("'" + text + "': a unix socket path must be shorter than " +
                                  std::to_string(sizeof(sockaddr_un{}.sun_path)) + " bytes");
    return e;
  }
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument("'" + text + "' is neither unix:/path nor host:port");
  e.host = text.substr(0, colon);
  if (e.host.front() == '[') {
    if (e.host.size() < 3 || e.host.back() != ']')
      throw std::invalid_argument("'" + text + "': an IPv6 address goes in [brackets]");
    e.host = e.host.substr(1, e.host.size() - 2);
  } else if (e.host.find(':') != std::string::npos) {
    throw std::invalid_argument("'" + text + "': write an IPv6 address as [addr]:port");
  }
  std::string_view port = std::string_view(text).substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    throw std::invalid_argument("'" + text + "': the port must be a number from 1 to 65535");
  }
  e.port = static_cast<std::uint16_t>(value);
  return e;
}

// Why a conversation ended early. `transient` failures may pass (the runner retries).
struct Failure : std::runtime_error {
  Failure(const std::string& what, bool transient)
      : std::runtime_error(what), transient(transient) {}
  bool transient;
};
struct Stopping {};
// clamd stopped taking the stream; it may have said why before closing.
struct SendFailed : Failure {
  using Failure::Failure;
};

// One connection to clamd: every wait ends at `deadline`, or when a stop is requested.
// Non-blocking I/O on the socket's descriptor with poll(2): exact deadlines, no SIGPIPE
// (MSG_NOSIGNAL; `bccsink scan` does not ignore it), and a stop noticed within a slice.
class Conversation {
 public:
  Conversation(const Endpoint& endpoint, milliseconds timeout, std::stop_token stop)
      : endpoint_(endpoint),
        timeout_(timeout),
        deadline_(Clock::now() + timeout),
        stop_(std::move(stop)) {}

  void connect() {
    doing_ = "connecting to clamd at " + endpoint_.text;
    try {
      socket_.connectNB(endpoint_.address());  // refused or no such socket: throws now
    } catch (const Poco::Exception& e) {
      throw Failure("cannot connect to clamd at " + endpoint_.text + ": " + describe(e), true);
    }
    fd_ = socket_.impl()->sockfd();
    wait(POLLOUT);
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
    if (error != 0)
      throw Failure("cannot connect to clamd at " + endpoint_.text + ": " + errnoText(error), true);
  }

  void send(const char* data, std::size_t size) {
    doing_ = "sending to clamd";
    while (size > 0) {
      auto n = ::send(fd_, data, size, MSG_NOSIGNAL);
      int err = errno;
      if (n > 0) {
        data += n;
        size -= static_cast<std::size_t>(n);
      } else if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
        wait(POLLOUT);
      } else if (n < 0 && err != EINTR) {
        throw SendFailed("clamd closed the connection while taking the file: " + errnoText(err),
                         true);
      }
    }
  }

  // One reply: up to '\0' (the "z" commands' end), or all that came before clamd closed.
  std::string reply() {
    doing_ = "waiting for clamd's answer";
    std::string got;
    char buf[1024];
    while (true) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      int err = errno;
      if (n > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        if (auto end = got.find('\0'); end != std::string::npos) return got.substr(0, end);
        if (got.size() > kMaxReply)
          throw Failure("not a clamd answer: '" + printableAscii(got, kMaxShownReply) + "'", false);
      } else if (n == 0 || (err != EAGAIN && err != EWOULDBLOCK && err != EINTR)) {
        if (!got.empty()) return got;
        throw Failure(n == 0 ? "clamd closed the connection without an answer"
                             : "clamd's answer was lost: " + errnoText(err),
                      true);
      } else if (err != EINTR) {
        wait(POLLIN);
      }
    }
  }

 private:
  void wait(short events) {
    while (true) {
      if (stop_.stop_requested()) throw Stopping{};
      auto left = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0)
        throw Failure("timed out after " + std::to_string(timeout_.count()) + " ms " + doing_,
                      true);
      pollfd p{fd_, events, 0};
      int rc = ::poll(&p, 1, static_cast<int>(std::min(left, kStopSlice).count()) + 1);
      int err = errno;
      if (rc > 0) return;  // ready, closed or failed: send() or recv() tells which
      if (rc < 0 && err != EINTR) throw Failure("poll: " + errnoText(err), true);
    }
  }

  const Endpoint& endpoint_;
  milliseconds timeout_;
  Clock::time_point deadline_;
  std::stop_token stop_;
  Poco::Net::StreamSocket socket_;  // owns the descriptor; closes it at the end
  int fd_ = -1;
  std::string doing_;
};

// A file descriptor closed at the end of scope.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// One INSTREAM of `file`, start to verdict.
Verdict instream(const Submission& file, const ClamdSettings& settings, const Endpoint& endpoint,
                 std::stop_token stop) {
  // A file not kept (BccMaxStoredPerMessage) streams from memory, the same chunks.
  Fd in{file.bytes ? -1 : ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC)};
  struct stat st {};
  if (!file.bytes && (in.fd < 0 || ::fstat(in.fd, &st) != 0)) {
    int err = errno;
    return unscanned("cannot read " + file.path + ": " + errnoText(err), false);
  }
  auto size = file.bytes ? file.bytes->size() : static_cast<std::uint64_t>(st.st_size);
  std::size_t sent = 0;  // from memory: how far
  auto next = [&](char* into) -> ssize_t {
    if (!file.bytes) return ::read(in.fd, into, kChunk);
    auto n = std::min<std::size_t>(kChunk, file.bytes->size() - sent);
    std::memcpy(into, file.bytes->data() + sent, n);
    sent += n;
    return static_cast<ssize_t>(n);
  };
  if (settings.maxStreamSize != 0 && size > settings.maxStreamSize) {
    return unscanned("file of " + std::to_string(size) + " bytes is over ClamdMaxStreamSize (" +
                         std::to_string(settings.maxStreamSize) + " bytes)",
                     false);
  }
  Conversation clamd(endpoint, settings.timeout, std::move(stop));
  try {
    try {
      clamd.connect();
      static constexpr char kCommand[] = "zINSTREAM";
      clamd.send(kCommand, sizeof kCommand);  // with its '\0'
      std::vector<char> chunk(4 + kChunk);
      while (true) {
        auto n = next(chunk.data() + 4);
        int err = errno;
        if (n < 0 && err == EINTR) continue;
        if (n < 0) return unscanned("cannot read " + file.path + ": " + errnoText(err), false);
        auto len = static_cast<std::uint32_t>(n);  // big-endian length, then the bytes
        chunk[0] = static_cast<char>(len >> 24);
        chunk[1] = static_cast<char>(len >> 16);
        chunk[2] = static_cast<char>(len >> 8);
        chunk[3] = static_cast<char>(len);
        clamd.send(chunk.data(), 4 + len);  // the last one, of length 0, ends the stream
        if (n == 0) break;
      }
    } catch (const SendFailed& e) {
      // clamd answers a stream over its StreamMaxLength and then closes while we are
      // still sending: its answer says more than our broken pipe.
      try {
        return parseClamdReply(clamd.reply());
      } catch (const Failure&) {
        return unscanned(e.what(), true);
      }
    }
    return parseClamdReply(clamd.reply());
  } catch (const Failure& e) {
    return unscanned(e.what(), e.transient);
  } catch (const Stopping&) {
    return unscanned("shutting down", false);
  } catch (const Poco::Exception& e) {
    return unscanned("clamd at " + endpoint.text + ": " + describe(e), true);
  } catch (const std::exception& e) {
    return unscanned("clamd at " + endpoint.text + ": " + e.what(), true);
  }
}

}  // namespace

Verdict parseClamdReply(std::string_view reply) {
  constexpr std::string_view kStream = "stream: ";
  constexpr std::string_view kFound = " FOUND";
  constexpr std::string_view kError = " ERROR";
  reply = trim(reply.substr(0, reply.find('\0')));
  if (reply.ends_with(kError)) {
    auto message = trim(reply.substr(0, reply.size() - kError.size()));
    if (message.starts_with(kStream)) message = trim(message.substr(kStream.size()));
    if (message.find("size limit exceeded") != std::string_view::npos)
      return unscanned("file over clamd's StreamMaxLength", false);
    return unscanned("clamd: " + printableAscii(message, kMaxShownReply), false);
  }
  if (reply.starts_with(kStream)) {
    auto result = reply.substr(kStream.size());
    if (result == "OK") return verdict(VerdictKind::Clean);
    if (result.ends_with(kFound)) {
      auto name =
          printableAscii(trim(result.substr(0, result.size() - kFound.size())), kMaxShownReply);
      if (!name.empty()) {
        // clamd's own heuristics, not signatures: a scan limit hit means "not looked at
        // whole" (AlertExceedsMax), the others (phishing, broken executables, ...) are
        // hints rather than findings.
        if (name.starts_with("Heuristics.Limits.Exceeded"))
          return unscanned("over clamd's scan limits (" + name + ")", false);
        bool heuristic = name.starts_with("Heuristics.");
        auto v = verdict(heuristic ? VerdictKind::Suspicious : VerdictKind::Dangerous);
        v.score = heuristic ? 50 : 100;
        v.threats.push_back(std::move(name));
        return v;
      }
    }
  }
  // "COMMAND READ TIMED OUT", a clamd restarting, or something else on that socket.
  return unscanned("unexpected answer from clamd: '" + printableAscii(reply, kMaxShownReply) + "'",
                   true);
}

ClamdAnalyzer::ClamdAnalyzer(ClamdSettings settings) : settings_(std::move(settings)) {
  if (settings_.threads == 0) throw std::invalid_argument("clamd: threads must be at least 1");
  parseEndpoint(settings_.socket);  // checked now; parsed again per file, which is cheap
}

ConfiguredAnalyzer ClamdAnalyzer::make(const ClamdSettings& settings) {
  auto clamd = std::make_shared<ClamdAnalyzer>(settings);
  RunnerSettings runner;
  runner.maxConcurrent = settings.threads;
  // The analyzer answers by `timeout` itself, with a reason that says where it was.
  runner.attemptTimeout = settings.timeout + std::chrono::seconds(5);
  return {std::move(clamd), runner};
}

Verdict ClamdAnalyzer::scan(const Submission& file, std::stop_token stop) {
  return instream(file, settings_, parseEndpoint(settings_.socket), std::move(stop));
}

std::string ClamdAnalyzer::ping() const {
  const auto endpoint = parseEndpoint(settings_.socket);
  Conversation clamd(endpoint, settings_.timeout, std::stop_token{});
  try {
    clamd.connect();
    static constexpr char kCommand[] = "zPING";
    clamd.send(kCommand, sizeof kCommand);
    auto reply = clamd.reply();
    if (trim(reply) == "PONG") return {};
    return "clamd at " + endpoint.text + " answered '" + printableAscii(reply, kMaxShownReply) +
           "' to PING";
  } catch (const Failure& e) {
    return e.what();
  } catch (const Poco::Exception& e) {
    return "clamd at " + endpoint.text + ": " + describe(e);
  } catch (const Stopping&) {
    return "shutting down";  // not reached: ping has no stop source
  }
}

std::string ClamdAnalyzer::version() const {
  const auto endpoint = parseEndpoint(settings_.socket);
  // A healthy clamd answers at once; a hung one must not hold the caller (the re-check
  // thread, which a stop waits for) for a whole scan's timeout.
  Conversation clamd(endpoint, std::min<milliseconds>(settings_.timeout, std::chrono::seconds(10)),
                     std::stop_token{});
  try {
    clamd.connect();
    static constexpr char kCommand[] = "zVERSION";
    clamd.send(kCommand, sizeof kCommand);
    auto reply = printableAscii(trim(clamd.reply()), kMaxShownReply);
    return reply.starts_with("ClamAV ") ? reply : std::string();
  } catch (const Failure&) {
    return {};
  } catch (const Poco::Exception&) {
    return {};
  } catch (const Stopping&) {
    return {};
  }
}

}  // namespace bccsink::sandbox

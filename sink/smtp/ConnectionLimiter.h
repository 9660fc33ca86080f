#pragma once
// The listener's connection slots, shared by its loops (issue 18, finding 1): at most
// BccMaxConnections in all, at most BccMaxConnectionsPerIp from one client (an IPv6
// client by its /64: one host is commonly given a whole /64, RFC 6177, and may use any
// address in it), and, when there is an allow-list, the last BccReservedConnections kept
// for its clients so that a flood from outside never takes the slots of the MTAs that
// send the copies. A connection holds its Slot from accept to close; the Slot's
// destructor gives it back. Pure logic under one mutex, unit-tested from strings.

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace bccsink {

struct SlotLimits {
  unsigned total = 100;    // BccMaxConnections
  unsigned perClient = 0;  // BccMaxConnectionsPerIp; 0 = no cap
  unsigned reserved = 0;   // BccReservedConnections; at most total - 1 is honoured
};

// The key a client is counted under: an IPv4 address as it is, an IPv4-mapped IPv6
// address (::ffff:192.0.2.1) as its IPv4 address, any other IPv6 address as its /64
// ("2001:db8:1:2::/64"); text that is no address as itself.
std::string clientKey(std::string_view address);

class ConnectionLimiter {
 public:
  enum class Refused {
    None,       // admitted: the Slot is held
    Full,       // BccMaxConnections reached
    Reserved,   // a client outside the allow-list met the reserved slots
    PerClient,  // BccMaxConnectionsPerIp reached for this client's key
  };

  class Slot {
   public:
    Slot() = default;
    ~Slot() { release(); }
    Slot(Slot&& other) noexcept : owner_(other.owner_), key_(std::move(other.key_)) {
      other.owner_ = nullptr;
    }
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    bool held() const { return owner_ != nullptr; }

   private:
    friend class ConnectionLimiter;
    Slot(ConnectionLimiter* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    void release();
    ConnectionLimiter* owner_ = nullptr;
    std::string key_;
  };

  struct Admission {
    Refused refused = Refused::None;
    Slot slot;  // held when refused == None
  };

  explicit ConnectionLimiter(SlotLimits limits);
  ConnectionLimiter(const ConnectionLimiter&) = delete;
  ConnectionLimiter& operator=(const ConnectionLimiter&) = delete;

  // `key`: clientKey() of the client, "" for one not counted per address (a unix
  // socket's: local processes, already limited by the socket file's mode). `allowed`:
  // the client is in the allow-list, or there is none (then nothing is reserved).
  Admission admit(const std::string& key, bool allowed);

  unsigned active() const;
  unsigned activeFor(const std::string& key) const;

 private:
  void release(const std::string& key);

  SlotLimits limits_;
  mutable std::mutex mutex_;
  unsigned active_ = 0;
  std::unordered_map<std::string, unsigned> perClient_;
};

}  // namespace bccsink

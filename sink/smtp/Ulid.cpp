#include "sink/smtp/Ulid.h"

#include <ctime>
#include <random>

namespace bccsink {

std::string newUlid(std::chrono::system_clock::time_point t) {
  static const char* alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  thread_local std::mt19937_64 rng = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  auto ms = static_cast<unsigned long long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
  std::string out(26, '0');
  for (int i = 9; i >= 0; --i) {
    out[i] = alphabet[ms & 31];
    ms >>= 5;
  }
  unsigned long long hi = rng(), lo = rng();
  // 80 random bits: 16 characters of 5 bits.
  for (int i = 25; i >= 10; --i) {
    out[i] = alphabet[lo & 31];
    lo = (lo >> 5) | ((hi & 31) << 59);
    hi >>= 5;
  }
  return out;
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

}  // namespace bccsink

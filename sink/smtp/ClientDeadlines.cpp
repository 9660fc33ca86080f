#include "sink/smtp/ClientDeadlines.h"

namespace bccsink {

ClientDeadlines::ClientDeadlines(const ClientLimits& limits, Clock::time_point connected)
    : limits_(limits), connected_(connected) {
  progress(connected, false);
}

void ClientDeadlines::progress(Clock::time_point now, bool inData) {
  idleBy_ = now + (inData ? limits_.dataTimeout : limits_.commandTimeout);
}

void ClientDeadlines::received(Clock::time_point now, std::size_t bytes, bool midway) {
  if (!midway) {
    spanOpen_ = false;
    spanBytes_ = 0;
    return;
  }
  if (!spanOpen_) {
    spanOpen_ = true;
    spanStart_ = now;
    spanBytes_ = 0;
  }
  spanBytes_ += bytes;
}

void ClientDeadlines::resumed(Clock::time_point now, bool midway) {
  spanOpen_ = midway;
  spanStart_ = now;
  spanBytes_ = 0;
}

void ClientDeadlines::unsent(Clock::time_point now, bool waiting) {
  if (!waiting) {
    unsentSince_.reset();
  } else if (!unsentSince_) {
    unsentSince_ = now;
  }
}

bool ClientDeadlines::behind(Clock::time_point now) const {
  if (limits_.minDataRate == 0 || !spanOpen_) return false;
  auto owed = now - spanStart_ - limits_.rateGrace;
  if (owed <= Clock::duration::zero()) return false;
  // Postfix's smtpd_min_data_rate: each byte extends the deadline by 1/rate seconds.
  long double seconds = std::chrono::duration<long double>(owed).count();
  return static_cast<long double>(spanBytes_) < seconds * limits_.minDataRate;
}

ClientDeadlines::Expired ClientDeadlines::check(Clock::time_point now, bool reading) const {
  if (limits_.sendTimeout.count() > 0 && unsentSince_ && now - *unsentSince_ >= limits_.sendTimeout)
    return Expired::Send;
  if (limits_.sessionTimeout.count() > 0 && now - connected_ >= limits_.sessionTimeout)
    return Expired::Session;
  if (reading && behind(now)) return Expired::Slow;
  if (now >= idleBy_) return Expired::Idle;
  return Expired::None;
}

std::chrono::milliseconds ClientDeadlines::spanAge(Clock::time_point now) const {
  if (!spanOpen_) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - spanStart_);
}

}  // namespace bccsink

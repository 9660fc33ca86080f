#pragma once
// The header section of a spooled message (RFC 5322 section 2.2), read without parsing
// the body: what the report shows (Subject, From, To...) and what the spoof check reads
// (Received). Hostile input is expected: a section without an end, lines without CR,
// folded lines, megabytes of header; reading stops at maxBytes.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink::report {

struct HeaderField {
  std::string name;   // as written
  std::string value;  // unfolded (CRLF and LF before white space removed), trimmed
};

class MessageHeaders {
 public:
  static constexpr std::size_t kMaxBytes = 1u << 20;

  // The fields of the header section at the start of `message` (up to the first empty
  // line, or maxBytes).
  static MessageHeaders parse(std::string_view message, std::size_t maxBytes = kMaxBytes);
  // The header section of the spooled message at `locator` (a row's spool_file, see
  // db/SpooledMessage). Throws std::runtime_error naming it when it cannot be read.
  static MessageHeaders read(const std::string& spoolDir, const std::string& locator,
                             std::size_t maxBytes = kMaxBytes);

  const std::vector<HeaderField>& fields() const { return fields_; }
  // The first field of that name (case-insensitive), '' when absent.
  std::string first(std::string_view name) const;
  // Every field of that name, in message order (top first).
  std::vector<std::string> all(std::string_view name) const;
  // first() with RFC 2047 encoded-words decoded, control characters removed: fit to show.
  std::string decoded(std::string_view name) const;

 private:
  std::vector<HeaderField> fields_;
};

}  // namespace bccsink::report

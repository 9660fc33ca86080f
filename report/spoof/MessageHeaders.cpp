#include "report/spoof/MessageHeaders.h"

#include <stdexcept>

#include "base/MimeText.h"
#include "base/Text.h"
#include "db/SpooledMessage.h"

namespace bccsink::report {

MessageHeaders MessageHeaders::parse(std::string_view message, std::size_t maxBytes) {
  MessageHeaders h;
  if (message.size() > maxBytes) message = message.substr(0, maxBytes);
  std::size_t pos = 0;
  while (pos < message.size()) {
    auto eol = message.find('\n', pos);
    auto end = eol == std::string_view::npos ? message.size() : eol;
    std::string_view line = message.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol == std::string_view::npos ? message.size() : eol + 1;
    if (line.empty()) break;  // the end of the header section
    if ((line[0] == ' ' || line[0] == '\t')) {
      // A continuation (RFC 5322 section 2.2.3): unfold into the field before it.
      if (!h.fields_.empty()) h.fields_.back().value += std::string(line);
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;  // not a field: skip it
    HeaderField f;
    f.name = std::string(trim(line.substr(0, colon)));
    f.value = std::string(line.substr(colon + 1));
    h.fields_.push_back(std::move(f));
  }
  for (auto& f : h.fields_) f.value = std::string(trim(f.value));
  return h;
}

MessageHeaders MessageHeaders::read(const std::string& spoolDir, const std::string& locator,
                                    std::size_t maxBytes) {
  // Mapped: parsing stops at the empty line that ends the header section, so only the
  // pages of the header (usually a few KB) are read.
  db::SpooledMessage message(spoolDir, locator);
  return parse(message.bytes(), maxBytes);
}

std::string MessageHeaders::first(std::string_view name) const {
  for (const auto& f : fields_) {
    if (equalsNoCase(f.name, name)) return f.value;
  }
  return {};
}

std::vector<std::string> MessageHeaders::all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& f : fields_) {
    if (equalsNoCase(f.name, name)) out.push_back(f.value);
  }
  return out;
}

std::string MessageHeaders::decoded(std::string_view name) const {
  // Keep it to one line: whatever control characters decoding produced become spaces.
  return std::string(trim(oneLineUtf8(decodeEncodedWords(first(name)), kNoLimit)));
}

}  // namespace bccsink::report

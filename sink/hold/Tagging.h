#pragma once
// SMTP mode's `tag` action on the message's bytes, a pure function: everything but the
// two changes goes out byte for byte.

#include <string>
#include <string_view>

namespace bccsink {

// `message` with
//   - "X-Bccsink-Verdict: " + `why` as a new first header (control characters dropped,
//     folded to stay under 998 bytes a line), and
//   - `subjectPrefix` and a space before the value of the first Subject header of the
//     top-level header block (a "Subject: " + prefix header added when there is none);
//     nothing when `subjectPrefix` is empty, and nothing again when the Subject already
//     starts with the prefix (a message tagged twice, e.g. released and re-filtered).
// Line ends are kept as the message has them (CRLF from the listener).
std::string tagMessage(std::string_view message, std::string_view subjectPrefix,
                       std::string_view why);

// `message` without any X-Bccsink-Verdict header of its top-level header block (folds
// included): a sender's own would pass for bccsink's. Every other byte as it is.
std::string withoutVerdictHeaders(std::string_view message);

}  // namespace bccsink

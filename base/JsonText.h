#pragma once
// Every JSON text the product writes (the API, `--json` output, report attachments,
// statistics, vxCube request bodies) is made here, so that it is valid UTF-8 as RFC 8259
// section 8.1 requires. Poco's Stringifier escapes quotes, backslashes and C0 controls but
// passes every byte from 0x80 up as it is, so a sender such as `<\xe9@x>` would reach a
// strict parser as a raw byte and be refused. Here each byte that starts no valid UTF-8
// sequence becomes U+FFFD (base/Text's toValidUtf8); valid UTF-8 is kept. Since the
// Stringifier leaves no byte >= 0x80 outside a string, the repair never touches the
// structure and the result stays the same JSON, with the same keys in the same order (two
// keys that differed only in invalid bytes may become equal).

#include <Poco/Dynamic/Var.h>

#include <string>

namespace bccsink {

// `value` (a Poco::JSON::Object or Array, their Ptrs, or a scalar) as JSON text of valid
// UTF-8. indent 0: as small as possible (one line); else pretty, `indent` spaces a level.
std::string jsonText(const Poco::Dynamic::Var& value, unsigned indent = 0);

// For JSON text put together from pieces that jsonText wrote (the statistics export splices
// stored intervals into one array): the same repair, whatever an older stored piece holds.
// Returns `text` itself when it is valid UTF-8 already.
std::string validJsonText(std::string text);

}  // namespace bccsink

#include "base/JsonText.h"

#include <Poco/JSON/Stringifier.h>

#include <sstream>

#include "base/Text.h"

namespace bccsink {

std::string jsonText(const Poco::Dynamic::Var& value, unsigned indent) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out, indent);
  return validJsonText(std::move(out).str());
}

std::string validJsonText(std::string text) {
  if (isValidUtf8(text)) return text;
  return toValidUtf8(text);
}

}  // namespace bccsink

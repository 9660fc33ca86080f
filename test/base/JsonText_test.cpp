#include "base/JsonText.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <string>

#include "base/Text.h"

using namespace bccsink;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

const std::string kFffd = "\xef\xbf\xbd";  // U+FFFD

Object::Ptr parseObject(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
}

}  // namespace

TEST(JsonText, InvalidBytesInKeysAndValuesBecomeReplacementCharacters) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("sender", "\xe9@x");
  o->set("k\xff", "truncated \xc3");
  o->set("surrogate", "\xed\xa0\x80");
  o->set("quote", "\xe9\"\\");  // an invalid byte right before what Poco escapes

  for (unsigned indent : {0u, 2u}) {
    const auto text = jsonText(o, indent);
    ASSERT_TRUE(isValidUtf8(text)) << text;
    auto back = parseObject(text);
    EXPECT_EQ(back->getValue<std::string>("sender"), kFffd + "@x");
    EXPECT_EQ(back->getValue<std::string>("k" + kFffd), "truncated " + kFffd);
    EXPECT_EQ(back->getValue<std::string>("surrogate"), kFffd + kFffd + kFffd);
    EXPECT_EQ(back->getValue<std::string>("quote"), kFffd + "\"\\");
    EXPECT_EQ(back->size(), 4u);
  }
}

TEST(JsonText, ValidUtf8IsWrittenAsItIs) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  const std::string name = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xae";  // é € 😀 RLO
  o->set("n\xc3\xa4me", name);
  const auto text = jsonText(o);
  EXPECT_EQ(text, "{\"n\xc3\xa4me\":\"" + name + "\"}");
  EXPECT_EQ(parseObject(text)->getValue<std::string>("n\xc3\xa4me"), name);
}

TEST(JsonText, ControlsAreEscapedAndArraysAndScalarsWork) {
  Array::Ptr a = new Array;
  a->add("a\x01\n\xe9");
  a->add(7);
  const auto text = jsonText(a);
  EXPECT_TRUE(isValidUtf8(text));
  EXPECT_EQ(text, "[\"a\\u0001\\n" + kFffd + "\",7]");
  EXPECT_EQ(jsonText(std::string("\xe9")), "\"" + kFffd + "\"");
}

TEST(JsonText, PrettyOutputIndents) {
  Object::Ptr o = new Object;
  o->set("a", 1);
  EXPECT_EQ(jsonText(o), "{\"a\":1}");
  EXPECT_EQ(jsonText(o, 2), "{\n  \"a\": 1\n}");
}

TEST(JsonText, AssembledTextIsRepairedTheSameWay) {
  EXPECT_EQ(validJsonText("[{\"sink\":\"a\"}]"), "[{\"sink\":\"a\"}]");
  EXPECT_EQ(validJsonText("[\"\xe9\"]"), "[\"" + kFffd + "\"]");
}

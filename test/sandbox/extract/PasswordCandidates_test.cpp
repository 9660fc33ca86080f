#include "sandbox/extract/PasswordCandidates.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using bccsink::sandbox::ArchivePassword;
using bccsink::sandbox::PasswordCandidates;

namespace {

bool has(const std::vector<std::string>& words, const std::string& word) {
  for (const auto& w : words) {
    if (w == word) return true;
  }
  return false;
}

std::vector<std::string> words(const std::vector<ArchivePassword>& candidates) {
  std::vector<std::string> out;
  for (const auto& c : candidates) out.push_back(c.word);
  return out;
}

}  // namespace

TEST(PasswordCandidates, TheWordAfterAPasswordKeywordComesFirstInEachLanguage) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Please find the invoice attached. Password: 1234", "1234"},
      {"the password is qwerty7.", "qwerty7"},
      {"Das Passwort lautet: Rechnung2024", "Rechnung2024"},
      {"Kennwort = abc", "abc"},
      {"Пароль: секрет42", "секрет42"},
      {"пароль - 5555", "5555"},
      {"Le mot de passe est \"facture\".", "facture"},
      {"Contraseña: hola99", "hola99"},
      {"Senha: 8080", "8080"},
      {"Parola: ciao", "ciao"},
      {"PASSWORD:XyZ", "XyZ"},
      {"password: e5", "e5"},
      {"password is: is", "is"},
  };
  for (const auto& [text, word] : cases) {
    auto found = PasswordCandidates::wordsIn(text);
    ASSERT_FALSE(found.empty()) << text;
    EXPECT_EQ(found.front(), word) << text;
  }
}

TEST(PasswordCandidates, ShortWordsWithDigitsFollowAsGuesses) {
  auto found = PasswordCandidates::wordsIn("Invoice INV-2231 attached, open with 7781.");
  EXPECT_TRUE(has(found, "INV-2231"));
  EXPECT_TRUE(has(found, "7781"));
  EXPECT_FALSE(has(found, "Invoice"));
}

TEST(PasswordCandidates, ReadsTheSubjectAndEncodedTextPartsOfTheMessage) {
  const std::string message =
      "Subject: =?UTF-8?B?0J/QsNGA0L7Qu9GMOiAxMTE=?=\r\n"  // "Пароль: 111"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
      "\r\n"
      "--b\r\n"
      "Content-Type: multipart/alternative; boundary=\"c\"\r\n"
      "\r\n"
      "--c\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "cGFzc3dvcmQ6IGJhc2U2NHdvcmQ=\r\n"  // "password: base64word"
      "--c\r\n"
      "Content-Type: text/html; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "<p>Kennwort: <b>h=F6rt</b></p>\r\n"
      "--c--\r\n"
      "--b\r\n"
      "Content-Type: application/zip; name=a.zip\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "UEsDBA==\r\n"
      "--b--\r\n";
  auto candidates = PasswordCandidates::of(message, {"infected"});
  auto list = words(candidates);
  ASSERT_GE(list.size(), 4u);
  EXPECT_EQ(candidates[0].word, "111");
  EXPECT_EQ(candidates[0].source, "the subject");
  EXPECT_TRUE(has(list, "base64word"));
  EXPECT_TRUE(has(list, "hört"));
  EXPECT_EQ(candidates.back().word, "infected");
  EXPECT_EQ(candidates.back().source, "BccArchivePasswords");
}

TEST(PasswordCandidates, AtMostTwentyComeFromTheMessageButAllConfiguredOnesAreKept) {
  std::string body = "Content-Type: text/plain\r\n\r\n";
  for (int i = 0; i < 100; ++i) body += "password: w" + std::to_string(i) + "\r\n";
  auto candidates = PasswordCandidates::of(body, {"a", "b"});
  ASSERT_EQ(candidates.size(), 22u);
  EXPECT_EQ(candidates[0].word, "w0");
  EXPECT_EQ(candidates[20].word, "a");
  EXPECT_EQ(candidates[21].word, "b");
}

TEST(PasswordCandidates, GarbageGivesNoCandidatesAndDoesNotThrow) {
  EXPECT_TRUE(PasswordCandidates::of("", {}).empty());
  EXPECT_TRUE(PasswordCandidates::of(std::string(1000, '\0'), {}).empty());
  EXPECT_TRUE(
      PasswordCandidates::of("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x", {})
          .empty());
}

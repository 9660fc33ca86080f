// The MIME structure as lenient mail clients read it (issue 13, class 3): each message
// here hid its attachment from the mimetic-based walker. Messages are built here from
// the technique's description; the payload is a stand-in.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/MimeHeaders.h"
#include "sandbox/extract/MimeWalker.h"
#include "test/sandbox/Collect.h"

using bccsink::sandbox::FileVisitor;
using bccsink::sandbox::FoundFile;
using bccsink::sandbox::isEvasion;
using bccsink::sandbox::MimeWalker;
using bccsink::sandbox::parseHeaderBlock;
using bccsink::sandbox::stripComments;
using bccsink::test::Collect;

namespace {

const std::string kPayload = "MZ stand-in payload";
const std::string kBase64 = "TVogc3RhbmQtaW4gcGF5bG9hZA==";  // kPayload

// An attachment part (header and body) of the stand-in, CRLF line ends.
std::string attachment(const std::string& name = "payload.exe") {
  return "Content-Type: application/octet-stream; name=\"" + name +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + kBase64 + "\r\n";
}

std::string mixed(const std::string& contentType, const std::string& boundary, bool closed = true) {
  return "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n" + contentType +
         "\r\n\r\npreamble\r\n--" + boundary + "\r\nContent-Type: text/plain\r\n\r\nhello\r\n--" +
         boundary + "\r\n" + attachment() + (closed ? "--" + boundary + "--\r\n" : "");
}

std::string withLineEnds(std::string crlf, const std::string& eol) {
  std::string out;
  for (std::size_t i = 0; i < crlf.size(); ++i) {
    if (crlf.compare(i, 2, "\r\n") == 0) {
      out += eol;
      ++i;
    } else {
      out += crlf[i];
    }
  }
  return out;
}

Collect walk(const std::string& message) {
  Collect c;
  MimeWalker().walk(message, {}, c);
  return c;
}

bool hasPayload(const Collect& c) {
  return std::any_of(c.files.begin(), c.files.end(),
                     [](const auto& f) { return f.content == kPayload; });
}

bool hasEvasion(const Collect& c, const std::string& what) {
  return std::any_of(c.errors.begin(), c.errors.end(), [&](const std::string& e) {
    return isEvasion(e) && e.find(what) != std::string::npos;
  });
}

}  // namespace

TEST(MimeStructure, StandardMessageHasThePayloadAndNoError) {
  auto c = walk(mixed("Content-Type: multipart/mixed; boundary=\"b1\"", "b1"));
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "payload.exe");
  EXPECT_EQ(c.files[0].content, kPayload);
  EXPECT_TRUE(c.errors.empty()) << c.errors[0];
}

TEST(MimeStructure, ContentTypeValueStartingOnTheFoldedNextLine) {
  // RFC 5322 section 2.2.3: "Content-Type:" CRLF SP value is one field.
  auto c = walk(mixed("Content-Type:\r\n multipart/mixed;\r\n\tboundary=\"b1\"", "b1"));
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(c.errors.empty());  // valid, not an evasion
}

TEST(MimeStructure, HeaderLineWithoutAColonBeforeTheMimeHeaders) {
  auto c =
      walk(mixed("this line has no colon\r\nContent-Type: multipart/mixed; boundary=b1", "b1"));
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(hasEvasion(c, "header line without a colon"));
}

TEST(MimeStructure, CrOnlyLineEnds) {
  auto c = walk(withLineEnds(mixed("Content-Type: multipart/mixed; boundary=b1", "b1"), "\r"));
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(hasEvasion(c, "lone CR"));
}

TEST(MimeStructure, LfOnlyLineEndsAreOrdinary) {
  auto c = walk(withLineEnds(mixed("Content-Type: multipart/mixed; boundary=b1", "b1"), "\n"));
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(c.errors.empty());
}

TEST(MimeStructure, CrCrLfLineEnds) {
  auto c = walk(withLineEnds(mixed("Content-Type: multipart/mixed; boundary=b1", "b1"), "\r\r\n"));
  EXPECT_TRUE(hasPayload(c));
}

TEST(MimeStructure, DuplicatedBoundaryParameterEitherValueSplits) {
  // One client takes the first boundary, another the last: both readings are walked.
  auto first = walk(mixed("Content-Type: multipart/mixed; boundary=b1; boundary=zz", "b1"));
  auto last = walk(mixed("Content-Type: multipart/mixed; boundary=zz; boundary=b1", "b1"));
  EXPECT_TRUE(hasPayload(first));
  EXPECT_TRUE(hasPayload(last));
}

TEST(MimeStructure, TwoContentTypeFieldsWithTheirOwnBoundaries) {
  auto c = walk(mixed(
      "Content-Type: multipart/mixed; boundary=zz\r\nContent-Type: multipart/mixed; boundary=b1",
      "b1"));
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(hasEvasion(c, "two Content-Type headers"));
}

TEST(MimeStructure, MissingBoundaryParameterIsGuessedFromTheBody) {
  auto c = walk(mixed("Content-Type: multipart/mixed", "b1"));
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(hasEvasion(c, "boundary guessed from the body"));
}

TEST(MimeStructure, MissingClosingBoundaryTheLastPartRunsToTheEnd) {
  auto c = walk(mixed("Content-Type: multipart/mixed; boundary=b1", "b1", false));
  EXPECT_TRUE(hasPayload(c));
}

TEST(MimeStructure, BoundaryAsRfc2231ParameterAndWithComments) {
  for (std::string ct : {"Content-Type: multipart/mixed; boundary*=''b1",
                         "Content-Type: multipart/mixed; boundary*0=b; boundary*1=1",
                         "Content-Type: multipart/mixed; boundary=(c)b1",
                         "Content-Type: multipart/mixed; boundary()=b1",
                         "Content-Type: (c)multipart/mixed; boundary=b1",
                         "Content-Type: \"multipart/mixed\"; boundary=b1",
                         "Content-Type:: multipart/mixed; boundary=b1",
                         "Content-Type : multipart/mixed; boundary=b1",
                         "Content-Type: multipart/mixed; boundary='b1'",
                         "Content-Type: multipart/mixed; boundary=\"b1 \"",
                         "Content-Type: multipart/mixed  boundary=b1",
                         "Content-Type: multipart/mixed; oundary=b1"}) {
    EXPECT_TRUE(hasPayload(walk(mixed(ct, "b1")))) << ct;
  }
}

TEST(MimeStructure, LeafTypeWhoseBodyIsPlainlyMultipart) {
  // The body starts with `--X` and part headers, or holds the declared boundary's lines.
  auto body = [](const std::string& ct) {
    return ct + "\r\n\r\n--b1\r\n" + attachment() + "--b1--\r\n";
  };
  for (std::string ct : {"Content-Type: text/plain", "X-Header: no content type",
                         "Content-Type: x-multipart/mixed; boundary=b1",
                         "Content-Type: ultipart/mixed; boundary=b1"}) {
    auto c = walk(body(ct));
    EXPECT_TRUE(hasPayload(c)) << ct;
    EXPECT_TRUE(hasEvasion(c, "whose body is multipart")) << ct;
  }
  // A preamble before the delimiter and no boundary parameter: a text, not a multipart.
  EXPECT_FALSE(hasPayload(walk(mixed("Content-Type: text/plain", "b1"))));
}

TEST(MimeStructure, MultipartWithoutAnyDelimiterIsOneDecodedPart) {
  auto c = walk(
      "Content-Type: multipart/mixed; boundary=b1\r\nContent-Transfer-Encoding: "
      "base64\r\n\r\n" +
      kBase64 + "\r\n");
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(hasEvasion(c, "without delimiter lines"));
}

TEST(MimeStructure, PartsAfterTheClosingDelimiterAreRead) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: "
      "text/plain\r\n\r\ndummy\r\n--b1--\r\n--b1\r\n" +
      attachment() + "--b1--\r\n";
  auto c = walk(msg);
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(hasEvasion(c, "after the closing delimiter"));
}

TEST(MimeStructure, LoneCrBeforeADelimiterLine) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
      "Content-Type: text/plain\r\n\r\nhello\r--b1\r\n" +
      attachment() + "--b1--\r\n";
  auto c = walk(msg);
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(hasEvasion(c, "lone CR"));
}

TEST(MimeStructure, UnnamedTextPartUnderAGuessedBoundaryIsAFile) {
  // A client that reads the guessed structure may show this text as an attachment.
  std::string msg = "Content-Type: multipart/mixed\r\n\r\n--b1\r\n\r\nsome text\r\n--b1--\r\n";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].content, "some text");
}

TEST(MimeStructure, JunkLineBetweenHeaderAndEmptyLineIsSkipped) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
      "Content-Type: application/octet-stream; name=p.exe\r\n"
      "Content-Transfer-Encoding: base64\r\nABCD\r\n\r\n" +
      kBase64 + "\r\n--b1--\r\n";
  auto c = walk(msg);
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(hasEvasion(c, "header line without a colon"));
}

TEST(MimeStructure, QuotedSemicolonInANameSurvives) {
  std::string msg = "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n" +
                    attachment("two;.zip") + "--b1--\r\n";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "two;.zip");
}

namespace {
struct Names : FileVisitor {
  std::vector<std::pair<std::string, std::vector<std::string>>> files;
  void onFile(const FoundFile& f) override { files.emplace_back(f.name, f.altNames); }
  void onError(const std::string&) override {}
};
}  // namespace

TEST(MimeStructure, EveryCandidateNameIsKeptAsAnAlternative) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
      "Content-Type: application/octet-stream; name=\"invoice.exe\"\r\n"
      "Content-Disposition: attachment; filename=\"a.txt\"; filename=\"b.zip\"\r\n\r\nx\r\n"
      "--b1\r\nContent-Type: application/x-a;\r\n name*1=\"le.zip\"; name*0=\"fi\"\r\n\r\ny\r\n"
      "--b1--\r\n";
  Names n;
  MimeWalker().walk(msg, {}, n);
  ASSERT_EQ(n.files.size(), 2u);
  EXPECT_EQ(n.files[0].first, "a.txt");
  EXPECT_EQ(n.files[0].second, (std::vector<std::string>{"b.zip", "invoice.exe"}));
  EXPECT_EQ(n.files[1].first, "file.zip");
  EXPECT_EQ(n.files[1].second, (std::vector<std::string>{"le.zipfi"}));
}

TEST(MimeHeaders, EveryLineEndUnfoldingAndRepeatedFields) {
  std::string text = "A: 1\rB:\r\n two\r\r\nA :: 3\nno colon\n\nbody";
  auto h = parseHeaderBlock(text, 0, text.size());
  ASSERT_EQ(h.fields.size(), 3u);
  EXPECT_EQ(h.fields[1].name, "b");
  EXPECT_EQ(h.fields[1].value, "two");
  EXPECT_EQ(h.all("a"), (std::vector<std::string_view>{"1", "3"}));
  EXPECT_TRUE(h.loneCr);
  EXPECT_EQ(h.strictReason, "header line without a colon");
  EXPECT_EQ(text.substr(h.bodyBegin), "body");
  // Without an empty line after it, a line without a colon starts the body.
  std::string noBlank = "A: 1\nbody line\nmore\nstill more\nand more";
  auto b = parseHeaderBlock(noBlank, 0, noBlank.size());
  EXPECT_EQ(noBlank.substr(b.bodyBegin, 9), "body line");
}

TEST(MimeHeaders, CommentsGoOutsideQuotesOnly) {
  EXPECT_EQ(stripComments("(x)multipart/mixed; b(y(z))oundary=\"a(b)\"; c=d\\(e"),
            "multipart/mixed; boundary=\"a(b)\"; c=d\\(e");
  EXPECT_EQ(stripComments("a (unbalanced"), "a (unbalanced");
}

TEST(MimeStructure, InnerBoundaryThatReadsAsTheOuterClosingDelimiter) {
  // The inner multipart's boundary is "b1--": its delimiter lines look like the outer's
  // closing one, and the innermost open multipart claims them.
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
      "Content-Type: multipart/mixed; boundary=b1--\r\n\r\n--b1--\r\n"
      "Content-Type: text/plain\r\n\r\nhello\r\n--b1--\r\n" +
      attachment() + "--b1----\r\n--b1--\r\n";
  EXPECT_TRUE(hasPayload(walk(msg)));
}

TEST(MimeStructure, WhiteSpaceOnlyLineInsideAFoldedField) {
  // Obsolete folding white space (RFC 5322 section 4.2): "Content-Type:" CRLF SP CRLF
  // SP value is still one field.
  EXPECT_TRUE(hasPayload(walk(mixed("Content-Type:\r\n \r\n multipart/mixed; boundary=b1", "b1"))));
}

TEST(MimeStructure, DelimiterLinesWithTextAfterTheBoundary) {
  // Only the closing line reads strictly: the lines with text after the boundary split.
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1 X\r\n" + attachment() + "--b1--\r\n";
  auto c = walk(msg);
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(hasEvasion(c, "text after the boundary"));
}

TEST(MimeStructure, SkippedHeaderLinesAreReadBothWays) {
  // The body's first base64 characters before the empty line: a strict reader's body
  // starts there, a lenient one skips them. Both readings are walked.
  std::string split =
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
      "Content-Type: application/octet-stream; name=p.exe\r\n"
      "Content-Transfer-Encoding: base64\r\n" +
      kBase64.substr(0, 4) + "\r\n\r\n" + kBase64.substr(4) + "\r\n--b1--\r\n";
  EXPECT_TRUE(hasPayload(walk(split)));
  // A line of white space only, or a lone CR, between two fields.
  for (std::string gap : {" \r\n", "\r"}) {
    std::string msg =
        "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
        "Content-Type: application/octet-stream; name=p.exe\r\n" +
        gap + "Content-Transfer-Encoding: base64\r\n\r\n" + kBase64 + "\r\n--b1--\r\n";
    auto c = walk(msg);
    EXPECT_TRUE(hasPayload(c)) << gap.size();
    EXPECT_TRUE(hasEvasion(c, "inside the header")) << gap.size();
  }
}

TEST(MimeStructure, OuterClosingDelimiterInsideAnInnerMultipartsHeader) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
      "Content-Type: multipart/mixed; boundary=b2\r\n--b1--\r\n\r\n--b2\r\n" +
      attachment() + "--b2--\r\n--b1--\r\n";
  auto c = walk(msg);
  EXPECT_TRUE(hasPayload(c));
  EXPECT_TRUE(hasEvasion(c, "inside a part's header"));
}

TEST(MimeStructure, BoundaryWithWhiteSpaceReadAsClientsCutIt) {
  auto split = [](const std::string& ct, const std::string& line) {
    return ct + "\r\n\r\n" + line + "\r\n" + attachment() + line + "--\r\n";
  };
  // "b1 XXX" declared, "--b1 YYY" used; "boundary= b1" and "-- b1"; no Content-Type and
  // "--b1 X" lines.
  EXPECT_TRUE(
      hasPayload(walk(split("Content-Type: multipart/mixed; boundary=\"b1 XXX\"", "--b1 YYY"))));
  EXPECT_TRUE(hasPayload(walk(split("Content-Type: multipart/mixed; boundary= b1;", "-- b1"))));
  EXPECT_TRUE(hasPayload(walk(split("Subject: no type", "--b1 X"))));
}

TEST(MimeStructure, SignatureArmorAndForwardedRulesAreNotBoundaries) {
  // Ordinary mail must not read as ambiguous: a PGP signature part and a forwarded
  // message's rule are followed by header-looking lines but are no delimiters.
  std::string msg =
      "Content-Type: multipart/signed; boundary=b1\r\n\r\n--b1\r\nContent-Type: "
      "text/plain\r\n\r\n---------- Forwarded message ---------\r\nFrom: x@example.com\r\n"
      "\r\nhi\r\n--b1\r\nContent-Type: application/pgp-signature; name=signature.asc\r\n\r\n"
      "-----BEGIN PGP SIGNATURE-----\r\nVersion: GnuPG v1\r\n\r\niQA\r\n"
      "-----END PGP SIGNATURE-----\r\n--b1--\r\n";
  auto c = walk(msg);
  EXPECT_TRUE(c.errors.empty()) << c.errors[0];
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "signature.asc");
}

// --- false positives and hostile sizes (review of 2026-12-06) ---------------------------

TEST(MimeStructure, APlainTextForwardWithARuleOfDashesIsNotMultipart) {
  // Outlook's plain-text forward: one rule of dashes, then the forwarded header.
  auto c = walk(
      "From: a@example.com\r\nSubject: FW: x\r\nContent-Type: text/plain\r\n\r\n"
      "see below\r\n\r\n-----Original Message-----\r\nFrom: b@example.com\r\n"
      "Sent: Monday\r\nSubject: x\r\n\r\nthe text\r\n");
  EXPECT_TRUE(c.errors.empty()) << ::testing::PrintToString(c.errors);
}

TEST(MimeStructure, PartsWhoseHeaderNeverEndsStopAtThePartsLimit) {
  // Parts that never end their header ("--b" then a field, again and again): each part's
  // header is read only up to the next delimiter (it once ran to the end of the body for
  // every part), and the walk stops at MimeLimits::maxParts with an evasion.
  std::string m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 20000; ++i) m += "--b\r\nX-A: 1\r\n";
  auto c = walk(m);
  EXPECT_LE(c.files.size(), 10000u);
  EXPECT_TRUE(hasEvasion(c, "MIME parts")) << ::testing::PrintToString(c.errors);
}

TEST(MimeStructure, ThousandsOfTransferEncodingHeadersAreNotEachDecoded) {
  std::string m = "Content-Type: application/octet-stream; name=a.bin\r\n";
  for (int i = 0; i < 3000; ++i) m += "Content-Transfer-Encoding: x" + std::to_string(i) + "\r\n";
  m += "\r\n" + std::string(200000, 'A') + "\r\n";
  auto c = walk(m);
  EXPECT_LE(c.files.size(), 3u * 4u);
  EXPECT_LT(c.errors.size(), 20u);
}

TEST(MimeStructure, ANameInAnErrorCannotStartALineOfItsOwn) {
  // A content type with a CR LF and ESC encoded into it reaches the errors as one line.
  auto c = walk(
      "Content-Type: =?utf-8?q?text/x=0D=0A=1B[31mevasion:_forged?=\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nAB#CD\r\nQUJD\r\n");
  for (const auto& e : c.errors) {
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_EQ(e.find('\x1b'), std::string::npos) << e;
  }
}

TEST(MimeStructure, UuencodedBlocksPerPartAreBounded) {
  std::string m = "Content-Type: text/plain\r\n\r\n";
  for (int i = 0; i < 3000; ++i) m += "begin 644 a.exe\r\n`\r\nend\r\n";
  auto c = walk(m);
  EXPECT_LE(c.files.size(), 1001u);
  EXPECT_TRUE(hasEvasion(c, "uuencoded blocks")) << ::testing::PrintToString(c.errors);
}

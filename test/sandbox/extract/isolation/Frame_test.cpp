// The framing between the daemon and its parser processes: what a worker encodes comes
// back equal, whatever way the bytes arrive; truncated or garbage frames and payloads are
// FrameError, never a crash or a huge allocation.

#include "sandbox/extract/isolation/Frame.h"

#include <gtest/gtest.h>

#include <string>

#include "sandbox/extract/isolation/ExtractionCodec.h"

namespace bccsink::sandbox {
namespace {

ExtractedFile sampleFile(int i) {
  ExtractedFile f;
  f.name = "invoice" + std::to_string(i) + ".exe";
  f.altNames = {"a.txt", std::string("b\0c", 3)};
  f.where = {"outer.zip", "inner.7z"};
  f.size = 1234567890123ull + i;
  f.md5 = std::string(32, 'a');
  f.sha256 = std::string(64, 'b');
  f.type = {"application/x-dosexec", "PE32 executable", "pe"};
  f.extension = "exe";
  f.extensionMismatch = true;
  f.selected = i % 2 == 0;
  f.reason = "evasion: something";
  f.unreadable = i % 3 == 0;
  return f;
}

void expectSame(const ExtractedFile& a, const ExtractedFile& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.altNames, b.altNames);
  EXPECT_EQ(a.where, b.where);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.md5, b.md5);
  EXPECT_EQ(a.sha256, b.sha256);
  EXPECT_EQ(a.type.mimeType, b.type.mimeType);
  EXPECT_EQ(a.type.description, b.type.description);
  EXPECT_EQ(a.type.family, b.type.family);
  EXPECT_EQ(a.extension, b.extension);
  EXPECT_EQ(a.extensionMismatch, b.extensionMismatch);
  EXPECT_EQ(a.selected, b.selected);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.unreadable, b.unreadable);
}

std::string frame(FrameType type, const std::string& payload) {
  return frameHeader(type, payload.size()) + payload;
}

TEST(WorkerFrame, ExtractionRoundTripsByteByByte) {
  Extraction e;
  for (int i = 0; i < 4; ++i) e.files.push_back(sampleFile(i));
  e.errors = {"evasion: ambiguous MIME", ""};
  const std::string stream = frame(FrameType::Result, encodeExtraction(e));
  FrameDecoder d(1 << 20);
  std::optional<Frame> got;
  for (char c : stream) {
    ASSERT_FALSE(got);
    d.feed(std::string_view(&c, 1));
    got = d.next();
  }
  ASSERT_TRUE(got);
  EXPECT_EQ(got->type, FrameType::Result);
  EXPECT_EQ(d.pending(), 0u);
  auto back = decodeExtraction(got->payload());
  ASSERT_EQ(back.files.size(), 4u);
  for (int i = 0; i < 4; ++i) expectSame(back.files[i], e.files[i]);
  EXPECT_EQ(back.errors, e.errors);
}

TEST(WorkerFrame, KeptCarriesTheFileAndItsBytes) {
  const std::string bytes("MZ\0\x90 payload", 12);
  const std::string payload = encodeKeptHead(sampleFile(2), bytes.size()) + bytes;
  FrameDecoder d(1 << 20);
  d.feed(frame(FrameType::Kept, payload) + frame(FrameType::Result, encodeExtraction({})));
  auto first = d.next();
  auto second = d.next();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->type, FrameType::Kept);
  auto kept = decodeKept(first->payload());
  expectSame(kept.file, sampleFile(2));
  EXPECT_EQ(kept.bytes, bytes);
  EXPECT_EQ(second->type, FrameType::Result);
  EXPECT_TRUE(decodeExtraction(second->payload()).files.empty());
  EXPECT_FALSE(d.next());
}

TEST(WorkerFrame, UnknownTypeIsAnError) {
  FrameDecoder d(100);
  d.feed(std::string("\x07", 1));
  EXPECT_THROW(d.next(), FrameError);
}

TEST(WorkerFrame, LengthPastTheLimitIsRefusedBeforeBuffering) {
  FrameDecoder d(100);
  d.feed(frameHeader(FrameType::Kept, 101));
  EXPECT_THROW(d.next(), FrameError);
  FrameDecoder huge(1 << 20);
  huge.feed(frameHeader(FrameType::Result, ~std::uint64_t{0}));
  EXPECT_THROW(huge.next(), FrameError);
}

// A subverted worker's header alone (1 GiB announced, within the limit) must not make the
// daemon reserve that much per slot: a few MiB up front, the rest as bytes arrive.
TEST(WorkerFrame, AnnouncedLengthIsNotReservedUpFront) {
  FrameDecoder d(2ull << 30);
  d.feed(frameHeader(FrameType::Kept, 1ull << 30));
  EXPECT_FALSE(d.next());
  EXPECT_LE(d.capacity(), 8u << 20);
  // A large frame that does arrive, in pieces, still comes out whole.
  const std::string payload(20u << 20, 'k');
  FrameDecoder big(64u << 20);
  big.feed(frameHeader(FrameType::Kept, payload.size()));
  for (std::size_t at = 0; at < payload.size(); at += 1 << 20) {
    EXPECT_FALSE(big.next());
    big.feed(std::string_view(payload).substr(at, 1 << 20));
  }
  auto f = big.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload(), payload);
  EXPECT_EQ(big.pending(), 0u);
}

TEST(WorkerFrame, IncompleteFrameWaitsAndStaysPending) {
  FrameDecoder d(100);
  d.feed(frameHeader(FrameType::Result, 10) + "12345");
  EXPECT_FALSE(d.next());
  EXPECT_EQ(d.pending(), kFrameHeaderBytes + 5);
}

TEST(WorkerFrame, TruncatedPayloadsAreErrors) {
  Extraction e;
  e.files.push_back(sampleFile(1));
  e.errors = {"x"};
  const std::string whole = encodeExtraction(e);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    EXPECT_THROW(decodeExtraction(whole.substr(0, n)), FrameError) << n;
  }
  const std::string kept = encodeKeptHead(sampleFile(1), 5) + "abcd";
  EXPECT_THROW(decodeKept(kept), FrameError);
}

// A parser claiming more files than any message within the extraction limits can hold is
// not believed (each would become a row and an allocation in the daemon).
TEST(WorkerFrame, MoreThanAHundredThousandFilesIsAnError) {
  Extraction many;
  many.files.resize(100001);
  EXPECT_THROW(decodeExtraction(encodeExtraction(many)), FrameError);
  many.files.resize(100000);
  EXPECT_EQ(decodeExtraction(encodeExtraction(many)).files.size(), 100000u);
}

TEST(WorkerFrame, LiesAndLeftoversAreErrors) {
  std::string count(8, '\xff');  // 2^64-1 files in 8 bytes
  EXPECT_THROW(decodeExtraction(count), FrameError);
  std::string flag = encodeFile(sampleFile(1));
  flag[flag.size() - 8] = 2;  // `unreadable` is neither 0 nor 1
  EXPECT_THROW(decodeKept(flag + std::string(8, '\0')), FrameError);
  EXPECT_THROW(decodeExtraction(encodeExtraction({}) + "x"), FrameError);
}

}  // namespace
}  // namespace bccsink::sandbox

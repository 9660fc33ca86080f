#include "sandbox/extract/Digest.h"

#include <gtest/gtest.h>

using bccsink::sandbox::digest;
using bccsink::sandbox::Digester;

TEST(Digest, KnownVectorsOfTheEmptyInputAndAbc) {
  auto empty = digest("");
  EXPECT_EQ(empty.md5, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(empty.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto abc = digest("abc");
  EXPECT_EQ(abc.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(abc.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, PiecesGiveTheSameDigestsAsTheWholeAndFinishStartsOver) {
  Digester d;
  d.update("a");
  d.update("");
  d.update("bc");
  auto pieces = d.finish();
  EXPECT_EQ(pieces.sha256, digest("abc").sha256);
  d.update("abc");
  EXPECT_EQ(d.finish().md5, "900150983cd24fb0d6963f7d28e17f72");
}

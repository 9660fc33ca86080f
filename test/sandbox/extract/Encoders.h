#pragma once
// Encoders for the decoding tests (test/sandbox/extract/*_test.cpp): the tests build their
// own inputs, so that what a decoder must undo is written here, not copied from a corpus.

#include <Poco/Base64Encoder.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>

// Own namespace: test/sandbox/analyzers/YaraSamples.h has a bccsink::test::base64 of its
// own, and two inline functions of one name would break the one-definition rule.
namespace bccsink::test::encoders {

// `n` bytes from a fixed seed.
inline std::string randomBytes(std::size_t n, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

// Base64 with 76-character lines and CRLF, as mailers write it.
inline std::string base64(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(76);
  encoder << bytes;
  encoder.close();
  std::string text, result = out.str();
  for (char c : result) {
    if (c == '\n') text += '\r';
    text += c;
  }
  return text + "\r\n";
}

// A gzip member (RFC 1952) of `data`.
inline std::string gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// uuencode lines without begin/end: length character, then 4 characters per 3 bytes.
inline std::string uuLines(const std::string& data) {
  std::string out;
  auto enc = [](unsigned v) { return static_cast<char>(v == 0 ? '`' : v + ' '); };
  for (std::size_t i = 0; i < data.size(); i += 45) {
    std::size_t n = std::min<std::size_t>(45, data.size() - i);
    out += enc(static_cast<unsigned>(n));
    for (std::size_t k = 0; k < n; k += 3) {
      unsigned char b[3] = {};
      for (std::size_t j = 0; j < 3 && k + j < n; ++j)
        b[j] = static_cast<unsigned char>(data[i + k + j]);
      out += enc(b[0] >> 2);
      out += enc((b[0] << 4 | b[1] >> 4) & 0x3F);
      out += enc((b[1] << 2 | b[2] >> 6) & 0x3F);
      out += enc(b[2] & 0x3F);
    }
    out += "\n";
  }
  return out + "`\n";
}

// yEnc data: byte + 42, NUL/LF/CR/= escaped, 128-character lines.
inline std::string yenc(const std::string& data) {
  std::string out;
  std::size_t col = 0;
  for (unsigned char c : data) {
    unsigned char e = static_cast<unsigned char>(c + 42);
    if (e == 0 || e == '\n' || e == '\r' || e == '=') {
      out += '=';
      e = static_cast<unsigned char>(e + 64);
    }
    out += static_cast<char>(e);
    if (++col % 128 == 0) out += "\r\n";
  }
  return out + "\r\n";
}

// BinHex 4.0 of `data` as the data fork: header, forks, zero CRCs (not checked), the
// run-length layer (0x90 escaped, runs of four or more compressed), 64-character lines.
inline std::string binhex(const std::string& name, const std::string& data) {
  std::string stream;
  stream += static_cast<char>(name.size());
  stream += name;
  stream += std::string(1 + 4 + 4 + 2, '\0');
  for (std::uint32_t v : {static_cast<std::uint32_t>(data.size()), 0u})
    for (int shift = 24; shift >= 0; shift -= 8) stream += static_cast<char>(v >> shift);
  stream += std::string(2, '\0') + data + std::string(4, '\0');
  std::string rle;
  for (std::size_t i = 0; i < stream.size();) {
    std::size_t run = 1;
    while (i + run < stream.size() && stream[i + run] == stream[i] && run < 255) ++run;
    rle += stream[i];
    if (stream[i] == '\x90') rle += '\0';
    if (run >= 4) {
      rle += '\x90';
      rle += static_cast<char>(run);
      i += run;
    } else {
      ++i;
    }
  }
  const std::string alphabet = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
  std::string text = "(This file must be converted with BinHex 4.0)\r\n\r\n:";
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t col = 1;
  auto put = [&](unsigned v) {
    text += alphabet[v & 63];
    if (++col % 64 == 0) text += "\r\n";
  };
  for (unsigned char c : rle) {
    acc = acc << 8 | c;
    bits += 8;
    while (bits >= 6) put(acc >> (bits -= 6));
  }
  if (bits > 0) put(acc << (6 - bits));
  return text + ":\r\n";
}

}  // namespace bccsink::test::encoders

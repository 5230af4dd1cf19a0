#include "ratelimit/policy/identifier_hash.hpp"

#include <openssl/sha.h>

#include <array>

namespace ratelimit::policy {

std::string IdentifierHasher::hash(std::string_view value) const {
  // The salt is length-prefixed so ("ab", "c") and ("a", "bc") differ.
  std::string input;
  input.reserve(1 + salt_.size() + value.size());
  input.push_back(static_cast<char>(salt_.size() & 0xFF));
  input.append(salt_);
  input.append(value);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "h:";
  out.reserve(2 + 32);
  for (std::size_t i = 0; i < 16; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

}  // namespace ratelimit::policy

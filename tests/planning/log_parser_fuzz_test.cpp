// Fuzzing the access-log parsers: valid combined and JSON lines mutated at
// random (bytes flipped, dropped, repeated, the line cut short, pieces
// spliced in), and random bytes. Each parse either fails with a message or
// fills a record whose views point into the line (combined) and whose time
// is in range; never a crash, a hang or an exception. The analyzer then
// takes every record it is given. Label "fuzz".
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "ratelimit/planning/log_record.hpp"
#include "ratelimit/planning/traffic_analyzer.hpp"

namespace ratelimit::planning {
namespace {

const std::vector<std::string> kCombined{
    R"(203.0.113.9 - alice [07/Dec/2026:03:14:38 +0000] "GET /api/items/42?x=1 HTTP/1.1" 200 512 "https://e.com/" "curl/8.0" "key-1")",
    R"(::1 - - [07/Dec/2026:04:14:38.125 +0100] "POST /login HTTP/1.0" 401 -)",
    R"(10.0.0.1 - bob [31/Dec/2026:23:59:60 -0530] "GET / HTTP/2.0" 304 0 "-" "a \"quoted\" agent")",
};
const std::vector<std::string> kJson{
    R"({"time":"2026-12-07T03:14:38Z","remote_addr":"10.0.0.1","remote_user":"bob","method":"PUT","path":"/a/b","status":204})",
    R"({"time":1796613278.5,"remote_addr":"10.0.0.2","request":"GET /x HTTP/1.1","status":"503"})",
    R"({"time":"07/Dec/2026:03:14:38 +0000","api_key":"k\u00e9y","path":"/%2e%2e/x"})",
};
const std::vector<std::string> kPieces{" ",
                                       "\"",
                                       "[",
                                       "]",
                                       "\\",
                                       "-",
                                       "{",
                                       "}",
                                       ":",
                                       ",",
                                       "/",
                                       "%",
                                       "+0000",
                                       "07/Dec/2026:",
                                       "\"GET / HTTP/1.1\"",
                                       "99999999999999999999",
                                       "1e309",
                                       "\xff\xfe",
                                       std::string(1, '\0'),
                                       "\t",
                                       "\r",
                                       "null",
                                       "[]",
                                       "\"time\":"};

std::string mutate(std::string s, int op, std::size_t pos, std::size_t piece, char c) {
  if (s.empty()) return kPieces[piece % kPieces.size()];
  pos %= s.size();
  switch (op % 5) {
    case 0:
      s[pos] = c;
      break;
    case 1:
      s.erase(pos, 1);
      break;
    case 2:
      s.insert(pos, 1, s[pos]);
      break;
    case 3:
      s.resize(pos);
      break;
    default:
      s.insert(pos, kPieces[piece % kPieces.size()]);
      break;
  }
  return s;
}

bool within(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check(LogFormat format, const std::string& line) {
  ParserOptions options;
  options.format = format;
  options.api_key_field = 4;
  LineParser parser(options);
  TrafficAnalyzer analyzer;
  LogRecord r;
  for (int i = 0; i < 2; ++i) {  // twice: the second parse may hit the time cache
    const char* error = parser.parse(line, r);
    if (error != nullptr) {
      RC_ASSERT(std::string(error).size() > 3);
      continue;
    }
    RC_ASSERT(r.time >= 0);
    RC_ASSERT(r.time < (Micros{1} << 62));
    RC_ASSERT(r.status >= 0 && r.status <= 999);
    if (format == LogFormat::combined) {
      for (const auto part : {r.ip, r.user, r.api_key, r.method, r.path})
        RC_ASSERT(within(part, line));
    }
    analyzer.add(r);
  }
}

RC_GTEST_PROP(LogParserFuzz, MutatedCombinedLines, ()) {
  std::string line = kCombined[*rc::gen::inRange<std::size_t>(0, kCombined.size())];
  const int rounds = *rc::gen::inRange(1, 6);
  for (int i = 0; i < rounds; ++i) {
    line = mutate(line, *rc::gen::arbitrary<int>(), *rc::gen::arbitrary<std::size_t>(),
                  *rc::gen::arbitrary<std::size_t>(), *rc::gen::arbitrary<char>());
  }
  check(LogFormat::combined, line);
}

RC_GTEST_PROP(LogParserFuzz, MutatedJsonLines, ()) {
  std::string line = kJson[*rc::gen::inRange<std::size_t>(0, kJson.size())];
  const int rounds = *rc::gen::inRange(1, 6);
  for (int i = 0; i < rounds; ++i) {
    line = mutate(line, *rc::gen::arbitrary<int>(), *rc::gen::arbitrary<std::size_t>(),
                  *rc::gen::arbitrary<std::size_t>(), *rc::gen::arbitrary<char>());
  }
  check(LogFormat::json, line);
}

RC_GTEST_PROP(LogParserFuzz, RandomBytes, (const std::string& bytes)) {
  check(LogFormat::combined, bytes);
  check(LogFormat::json, bytes);
}

}  // namespace
}  // namespace ratelimit::planning
